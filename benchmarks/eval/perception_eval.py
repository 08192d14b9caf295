"""ROI recall, state recognition and builtin-encoder invariance on the suite.

Each function returns a plain dict (JSON-ready). When the library package it measures cannot be
imported it returns ``{"available": False, "reason": ...}`` rather than a made-up figure.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.suite.load import Suite, SuiteScreen
from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box

INVARIANCE_PERTURBATIONS = ("theme", "scale")


def _unavailable(exc: BaseException) -> dict[str, Any]:
    return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}


def recall(truth: Sequence[Box], proposals: Sequence[Box], iou: float = 0.5) -> tuple[int, int]:
    """(recalled, total): truth boxes with some proposal at IoU >= ``iou``."""
    hit = sum(1 for t in truth if any(t.iou(p) >= iou for p in proposals))
    return hit, len(truth)


def click_recall(truth: Sequence[Box], proposals: Sequence[Box], inside: float = 0.8) -> tuple[int, int]:
    """(recalled, total): truth boxes holding some proposal's centre with at least ``inside`` of
    that proposal's area in the box (a proposal one can click the element through). Kinder than
    IoU where a widget's geometry is wider than what it draws (list rows, flat tool buttons)."""
    def hits(t: Box) -> bool:
        for p in proposals:
            if t.contains(p.center) and p.area > 0:
                inter = t.intersection(p)
                if inter is not None and inter.area >= inside * p.area:
                    return True
        return False

    return sum(1 for t in truth if hits(t)), len(truth)


def roi_recall(suite: Suite, screens: Sequence[SuiteScreen] | None = None, iou: float = 0.5) -> dict[str, Any]:
    """Share of ground-truth elements (clickable ones, and all) matched by an ROI proposal."""
    try:
        from rpa_vision.roi import ROIOptimizer
    except ImportError as exc:
        return _unavailable(exc)
    per_screen: dict[str, dict[str, Any]] = {}
    tot: dict[str, int] = defaultdict(int)
    by_pert: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in screens if screens is not None else list(suite):
        opt = ROIOptimizer()
        t0 = time.perf_counter()
        regions = opt.propose(Frame.from_array(s.image, "BGR")).regions
        ms = (time.perf_counter() - t0) * 1000.0
        boxes = [r.box for r in regions]
        hc, nc = recall([e.box for e in s.clickable], boxes, iou)
        ha, na = recall([e.box for e in s.elements], boxes, iou)
        kc, _ = click_recall([e.box for e in s.clickable], boxes)
        per_screen[s.config] = {"clickable_recall": hc / max(1, nc), "all_recall": ha / max(1, na),
                                "click_recall": kc / max(1, nc), "clickable": nc, "proposals": len(boxes), "ms": ms}
        tot["kc"] += kc
        tot["hc"] += hc
        tot["nc"] += nc
        tot["ha"] += ha
        tot["na"] += na
        by_pert[s.perturbation][0] += hc
        by_pert[s.perturbation][1] += nc
    return {
        "available": True, "iou": iou,
        "clickable_recall": tot["hc"] / max(1, tot["nc"]), "all_recall": tot["ha"] / max(1, tot["na"]),
        "click_recall": tot["kc"] / max(1, tot["nc"]),
        "by_perturbation": {k: v[0] / max(1, v[1]) for k, v in by_pert.items()},
        "screens": per_screen,
    }


STATE_VIEWS = ("screen", "window")


def _state_frame(s: SuiteScreen, view: str) -> Frame:
    """What the Perceiver is given: the whole screen (what a replay grabs; the Perceiver finds
    the application window in it by itself) or the ground-truth application window cropped out
    (a frame that is already one window)."""
    if view == "screen":
        return s.frame()
    x1, y1, x2, y2 = s.window.clip(*s.screen_size).as_int_tuple()
    return Frame.from_array(np.ascontiguousarray(s.image[y1:y2, x1:x2]), "BGR")


def state_recognition(suite: Suite, encoder_name: str = "builtin", view: str = "screen") -> dict[str, Any]:
    """Base screen of each state = its prototype; every other screen is recognised top-1 through
    ``Perceiver`` state vectors in a ``PrototypeIndex`` queried with ``Matcher``. ``view``: the
    Perceiver is given the whole ``"screen"`` or the application ``"window"`` only. For the
    screen view, ``window_iou`` is the mean IoU of the window the Perceiver found (the state's
    source) with the ground-truth window, over every screen (0 for a screen where none was
    found), and ``margin`` per row the similarity to the right prototype minus the best wrong one."""
    if view not in STATE_VIEWS:
        raise ValidationError(f"view must be one of {STATE_VIEWS}, not {view!r}", field="view", value=view)
    try:
        from rpa_vision.embedding import create_encoder
        from rpa_vision.index import Matcher, PrototypeIndex, Provenance
        from rpa_vision.perception import Perceiver
    except ImportError as exc:
        return _unavailable(exc)
    encoder = create_encoder(encoder_name)
    perceiver = Perceiver(encoder)
    states = suite.states
    refs = [s for s in suite if s.perturbation == "base"]
    ious: list[float] = []

    def perceive(s: SuiteScreen) -> np.ndarray:
        screen = perceiver.perceive(_state_frame(s, view))
        if view == "screen":
            ious.append(screen.window.iou(s.window) if screen.window is not None else 0.0)
        return np.asarray(screen.state_vector, np.float32)

    vecs = np.stack([perceive(s) for s in refs]).astype(np.float32)
    base = Provenance.from_encoder(encoder)
    index = PrototypeIndex(Provenance(f"{base.encoder}+state", int(vecs.shape[1]), base.weights))
    index.add(vecs, [{"workflow": "suite", "step": states.index(s.state), "label": s.state} for s in refs])
    matcher = Matcher(index)
    rows: list[dict[str, Any]] = []
    times = []
    for s in suite:
        if s.perturbation == "base":
            continue
        t0 = time.perf_counter()
        vec = perceive(s)
        matches = matcher.match(vec, k=1)
        times.append((time.perf_counter() - t0) * 1000.0)
        got = states[matches[0].step] if matches else None
        sims = vecs @ vec
        right = [i for i, r in enumerate(refs) if r.state == s.state]
        wrong = [float(sims[i]) for i, r in enumerate(refs) if r.state != s.state]
        margin = float(max(sims[i] for i in right)) - max(wrong) if right and wrong else None
        rows.append({"config": s.config, "state": s.state, "predicted": got, "perturbation": s.perturbation,
                     "confidence": float(matches[0].confidence) if matches else 0.0, "margin": margin})
    correct = sum(r["predicted"] == r["state"] for r in rows)
    per_pert: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        key = str(r["perturbation"])
        per_pert[key][0] += int(r["predicted"] == r["state"])
        per_pert[key][1] += 1
    return {
        "available": True, "encoder": encoder_name, "view": view, "states": states, "queries": len(rows),
        "top1": correct / max(1, len(rows)), "by_perturbation": {k: v[0] / v[1] for k, v in per_pert.items()},
        "median_ms": statistics.median(times) if times else None, "rows": rows,
        "window_iou": statistics.fmean(ious) if ious else None,
        "min_margin": min((r["margin"] for r in rows if r["margin"] is not None), default=None),
        "misses": [r for r in rows if r["predicted"] != r["state"]],
    }


def encoder_invariance(suite: Suite, encoder_name: str = "builtin",
                       perturbations: Sequence[str] = INVARIANCE_PERTURBATIONS) -> dict[str, Any]:
    """Each element of a perturbed (dark / rescaled) screen must retrieve its own base-screen crop
    top-1 among all elements of the base screen (cosine of ``create_encoder(name)`` embeddings)."""
    try:
        from rpa_vision.embedding import create_encoder
    except ImportError as exc:
        return _unavailable(exc)
    encoder = create_encoder(encoder_name)
    out: dict[str, Any] = {"available": True, "encoder": encoder_name, "pairs": {}}
    total = [0, 0]
    for pert in perturbations:
        for ref, other in suite.pairs(pert):
            ids = [e.id for e in ref.elements if other.element(e.id) is not None]
            if len(ids) < 2:
                continue
            gallery = encoder.embed([ref.crop(ref.element(i)) for i in ids])  # type: ignore[arg-type]
            queries = encoder.embed([other.crop(other.element(i)) for i in ids])  # type: ignore[arg-type]
            top = np.argmax(queries @ gallery.T, axis=1)
            ok = int(np.sum(top == np.arange(len(ids))))
            confused = [(ids[i], ids[int(j)]) for i, j in enumerate(top) if i != j]
            out["pairs"][f"{ref.config}->{other.config}"] = {"perturbation": pert, "top1": ok / len(ids),
                                                             "n": len(ids), "confused": confused[:10]}
            total[0] += ok
            total[1] += len(ids)
    out["top1"] = total[0] / max(1, total[1])
    out["n"] = total[1]
    return out
