"""One evaluation run over the suite, as a JSON-ready report (used by the CLI and the bench cases)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.eval.locate_eval import run_trials
from benchmarks.eval.methods import Method, default_methods
from benchmarks.eval.metrics import Trial, by, latency_ratio, summarize
from benchmarks.eval.perception_eval import encoder_invariance, roi_recall, state_recognition
from benchmarks.suite.load import Suite

BASELINE = "pyautogui@0.9"
QUICK_PERTURBATIONS = ("moved", "theme", "scale")


def locate_report(trials: Sequence[Trial], unavailable: dict[str, str], methods: Sequence[Method]) -> dict[str, Any]:
    names = [m.name for m in methods]
    table: dict[str, dict[str, Any]] = {n: {} for n in names if n not in unavailable}
    for (method, pert), summ in by(trials, "method", "perturbation").items():
        table[method][pert] = summ.as_dict()
    overall = {m: s.as_dict() for (m,), s in by(trials, "method").items()}
    on_1080 = [t for t in trials if t.screen_wh == (1920, 1080)]
    latency = {m: summarize([t for t in on_1080 if t.method == m]).median_ms for m in table}
    ratios = {m: latency_ratio(trials, m, BASELINE) for m in table}
    failures: dict[str, list[dict[str, Any]]] = {}
    for m in table:
        bad = [t for t in trials if t.method == m and t.outcome not in ("correct", "correct_unsure")]
        failures[m] = [{"pair": t.pair, "element": t.element, "outcome": t.outcome,
                        "confidence": round(t.answer.confidence, 3)} for t in bad[:40]]
    return {"methods": names, "unavailable": unavailable, "by_perturbation": table, "overall": overall,
            "median_ms_1080p": latency, "latency_ratio_to_pyautogui": ratios, "baseline": BASELINE,
            "failures": failures, "trials": len(trials)}


def evaluate(
    suite: Suite,
    *,
    quick: bool = False,
    per_pair: int | None = None,
    methods: Sequence[Method] | None = None,
    parts: Sequence[str] = ("locate", "state", "roi", "invariance"),
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole evaluation. ``quick``: one element per pair on a few perturbation types and ROI
    recall on the base screens only."""
    methods = list(methods) if methods is not None else default_methods()
    out: dict[str, Any] = {"suite": str(suite.path), "screens": len(suite), "quick": quick}
    t0 = time.perf_counter()
    if "locate" in parts:
        perts = QUICK_PERTURBATIONS if quick else None
        n = per_pair if per_pair is not None else (1 if quick else None)
        trials, unavailable = run_trials(suite, methods, perturbations=perts, per_pair=n, log=log)
        out["locate"] = locate_report(trials, unavailable, methods)
        out["locate"]["per_pair"] = n
    if "state" in parts:
        out["state"] = state_recognition(suite)
    if "roi" in parts:
        screens = [s for s in suite if s.perturbation == "base"] if quick else None
        out["roi"] = roi_recall(suite, screens)
    if "invariance" in parts:
        out["invariance"] = encoder_invariance(suite)
    out["duration_s"] = time.perf_counter() - t0
    return out
