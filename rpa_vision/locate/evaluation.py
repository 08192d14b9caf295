"""Measuring the Locator on cases with known truth: accuracy per perturbation, the calibration
features of each answer, and the rate of confident wrong answers (the one that must stay ~0)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from rpa_vision.core.geometry import Box
from rpa_vision.locate.locator import Locator
from rpa_vision.locate.scenes import PERTURBATIONS, SceneSpec, perturbed, render_scene
from rpa_vision.locate.types import Candidate, TargetSpec


@dataclass(frozen=True)
class Case:
    group: str  # the perturbation
    element: str
    reference: np.ndarray
    box: Box
    screen: np.ndarray
    truth: Box | None  # None: the element is not on the screen
    screen_scale: float = 1.0
    with_reference: bool = True  # False: only the crop is known (no surroundings)
    window: Box | None = None  # the recorded window's box, when known

    def target(self) -> TargetSpec:
        spec = TargetSpec.from_reference(self.reference, self.box, window_box=self.window)
        if self.with_reference:
            return spec
        return TargetSpec(spec.crop, self.box)


@dataclass(frozen=True)
class Outcome:
    case: Case
    top: Candidate | None
    runner_up: Candidate | None

    @property
    def correct(self) -> bool:
        return self.top is not None and self.case.truth is not None and hit(self.top.box, self.case.truth)

    @property
    def confidence(self) -> float:
        return self.top.confidence if self.top is not None else 0.0


def hit(found: Box, truth: Box) -> bool:
    """The found box is the element: its centre lies in the truth box and they overlap well."""
    return truth.contains(found.center) and found.iou(truth) >= 0.4


ELEMENTS = ("cb_autosave", "cb_proxy", "key_5", "key_8", "btn_ok", "btn_apply", "field_email", "close")
ABSENT_GROUPS = ("same", "moved", "dark", "scale1.5")
CROP_ONLY_GROUPS = ("moved", "scale1.5")


def synthetic_cases(seed: int = 0, elements: Iterable[str] = ELEMENTS,
                    groups: Iterable[str] = tuple(PERTURBATIONS)) -> Iterator[Case]:
    """Each element of the recorded scene sought under each perturbation, then absent."""
    base = SceneSpec(seed=seed)
    ref, ref_boxes = render_scene(base)
    elements = tuple(elements)
    for g in groups:
        screen, boxes = render_scene(perturbed(base, g))
        for el in elements:
            yield Case(g, el, ref, ref_boxes[el], screen, boxes.get(el))
    for g in ABSENT_GROUPS:
        for el in elements:
            screen, boxes = render_scene(perturbed(base, g, missing=(el,)))
            yield Case(f"absent/{g}", el, ref, ref_boxes[el], screen, None)
    for g in CROP_ONLY_GROUPS:
        screen, boxes = render_scene(perturbed(base, g))
        for el in elements:
            yield Case(f"crop/{g}", el, ref, ref_boxes[el], screen, boxes.get(el), with_reference=False)


def run_cases(locator: Locator, cases: Iterable[Case]) -> list[Outcome]:
    out = []
    for c in cases:
        res = locator.locate(c.target(), c.screen, top_k=2)
        out.append(Outcome(c, res[0] if res else None, res[1] if len(res) > 1 else None))
    return out


def calibration_rows(outcomes: list[Outcome]) -> tuple[np.ndarray, np.ndarray]:
    """``[score, margin, x]`` features and correctness labels of the top two answers of every
    case, the data ``fit_logistic`` refits ``LocatorConfig.calibration`` from."""
    feats: list[list[float]] = []
    labels: list[float] = []
    for o in outcomes:
        for cand in (o.top, o.runner_up):
            if cand is None:
                continue
            ev = cand.evidence
            feats.append([cand.score, ev.get("margin", 0.0), ev.get("context", ev.get("template", 0.0))])
            ok = o.case.truth is not None and hit(cand.box, o.case.truth)
            labels.append(1.0 if ok else 0.0)
    return np.asarray(feats, np.float64).reshape(-1, 3), np.asarray(labels, np.float64)


def summarize(outcomes: list[Outcome], threshold: float) -> dict[str, dict[str, float]]:
    """Per group: n, accuracy of the top answer, auto rate (confidence >= threshold) and the
    wrong-confident rate (confident but wrong, or confident although the element is absent)."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.case.group].append(o)
        groups["all"].append(o)
    table: dict[str, dict[str, float]] = {}
    for g, os in groups.items():
        present = [o for o in os if o.case.truth is not None]
        conf = [o for o in os if o.confidence >= threshold]
        table[g] = {
            "n": float(len(os)),
            "accuracy": float(np.mean([o.correct for o in present])) if present else float("nan"),
            "auto_rate": len(conf) / len(os),
            "wrong_confident": sum(1 for o in conf if not o.correct) / len(os),
            "mean_conf": float(np.mean([o.confidence for o in os])),
        }
    return table
