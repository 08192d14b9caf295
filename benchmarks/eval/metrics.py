"""Outcomes of locating one element and their aggregation (success, wrong-element rate, latency)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rpa_vision.core.geometry import Box

OUTCOMES = ("correct", "correct_unsure", "wrong", "wrong_unsure", "not_found")


@dataclass(frozen=True)
class Answer:
    """What a method returned for one target: a box (or none), a confidence in [0, 1], whether the
    method would act on it without asking (``confident``), and how long it took."""

    box: Box | None
    confidence: float
    confident: bool
    ms: float


@dataclass(frozen=True)
class Trial:
    method: str
    pair: str  # "qt_base->qt_dark"
    app: str
    perturbation: str
    element: str
    truth: Box
    answer: Answer
    screen_wh: tuple[int, int]

    @property
    def outcome(self) -> str:
        return classify(self.answer, self.truth)


def classify(answer: Answer, truth: Box) -> str:
    """``correct``: the click point (the answer box's centre) is inside the truth box and the
    method is confident; ``correct_unsure``: inside but the method would ask; ``wrong``: a
    confident answer elsewhere (the dangerous outcome); ``wrong_unsure``: elsewhere but unsure;
    ``not_found``: no answer."""
    if answer.box is None:
        return "not_found"
    inside = truth.contains(answer.box.center)
    if inside:
        return "correct" if answer.confident else "correct_unsure"
    return "wrong" if answer.confident else "wrong_unsure"


@dataclass(frozen=True)
class Summary:
    n: int
    success: float  # click point inside the right box (any confidence)
    auto_success: float  # ... and confident (would act without asking)
    wrong: float  # confident answer on the wrong element
    not_found: float
    median_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "success": self.success, "auto_success": self.auto_success, "wrong": self.wrong,
                "not_found": self.not_found, "median_ms": self.median_ms}


def summarize(trials: Sequence[Trial]) -> Summary:
    n = len(trials)
    if n == 0:
        return Summary(0, float("nan"), float("nan"), float("nan"), float("nan"), None)
    counts: dict[str, int] = defaultdict(int)
    for t in trials:
        counts[t.outcome] += 1
    return Summary(
        n,
        (counts["correct"] + counts["correct_unsure"]) / n,
        counts["correct"] / n,
        counts["wrong"] / n,
        counts["not_found"] / n,
        statistics.median(t.answer.ms for t in trials),
    )


def by(trials: Iterable[Trial], *keys: str) -> dict[tuple[str, ...], Summary]:
    """Summaries grouped by trial attributes, e.g. ``by(trials, "method", "perturbation")``."""
    groups: dict[tuple[str, ...], list[Trial]] = defaultdict(list)
    for t in trials:
        groups[tuple(str(getattr(t, k)) for k in keys)].append(t)
    return {k: summarize(v) for k, v in sorted(groups.items())}


def latency_ratio(trials: Sequence[Trial], method: str, baseline: str,
                  screen_wh: tuple[int, int] | None = (1920, 1080)) -> float | None:
    """median latency of ``method`` / median latency of ``baseline`` (on screens of ``screen_wh``)."""
    def med(name: str) -> float | None:
        xs = [t.answer.ms for t in trials if t.method == name and (screen_wh is None or t.screen_wh == screen_wh)]
        return statistics.median(xs) if xs else None

    a, b = med(method), med(baseline)
    if a is None or b is None or b <= 0:
        return None
    return a / b
