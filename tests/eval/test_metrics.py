"""Outcome classification and aggregation of locate trials."""

from __future__ import annotations

import math

import pytest

from benchmarks.eval.metrics import Answer, Trial, by, classify, latency_ratio, summarize
from rpa_vision.core.geometry import Box

TRUTH = Box(100, 100, 140, 120)


def _trial(method: str, answer: Answer, pert: str = "moved", wh: tuple[int, int] = (1920, 1080)) -> Trial:
    return Trial(method, "a->b", "xcalc", pert, "xcalc/r0c0", TRUTH, answer, wh)


@pytest.mark.parametrize(
    ("box", "confident", "outcome"),
    [
        (Box(105, 102, 135, 118), True, "correct"),
        (Box(90, 95, 160, 125), True, "correct"),  # larger box, centre inside the truth
        (Box(105, 102, 135, 118), False, "correct_unsure"),
        (Box(130, 100, 170, 120), True, "wrong"),  # centre x = 150: outside
        (Box(300, 300, 340, 320), False, "wrong_unsure"),
        (None, False, "not_found"),
    ],
)
def test_classify_by_click_point(box: Box | None, confident: bool, outcome: str) -> None:
    assert classify(Answer(box, 0.5, confident, 1.0), TRUTH) == outcome


def test_summary_rates_and_median() -> None:
    inside, outside = Box(105, 102, 135, 118), Box(300, 300, 340, 320)
    trials = [
        _trial("m", Answer(inside, 0.9, True, 10.0)),
        _trial("m", Answer(inside, 0.4, False, 20.0)),
        _trial("m", Answer(outside, 0.9, True, 30.0)),
        _trial("m", Answer(None, 0.0, False, 40.0)),
    ]
    s = summarize(trials)
    assert (s.n, s.success, s.auto_success, s.wrong, s.not_found) == (4, 0.5, 0.25, 0.25, 0.25)
    assert s.median_ms == 25.0
    assert s.as_dict()["wrong"] == 0.25
    empty = summarize([])
    assert empty.n == 0 and math.isnan(empty.success) and empty.median_ms is None


def test_grouping_and_latency_ratio_on_1080p_only() -> None:
    ok = Box(105, 102, 135, 118)
    trials = [
        _trial("fast", Answer(ok, 1.0, True, 5.0), "moved"),
        _trial("fast", Answer(None, 0.0, False, 7.0), "scale"),
        _trial("fast", Answer(ok, 1.0, True, 500.0), "4k", wh=(3840, 2160)),
        _trial("base", Answer(ok, 1.0, True, 10.0), "moved"),
        _trial("base", Answer(ok, 1.0, True, 14.0), "scale"),
    ]
    g = by(trials, "method", "perturbation")
    assert g[("fast", "moved")].success == 1.0 and g[("fast", "scale")].success == 0.0
    assert set(g) == {("fast", "moved"), ("fast", "scale"), ("fast", "4k"), ("base", "moved"), ("base", "scale")}
    assert latency_ratio(trials, "fast", "base") == pytest.approx(6.0 / 12.0)
    assert latency_ratio(trials, "fast", "base", screen_wh=None) == pytest.approx(7.0 / 12.0)
    assert latency_ratio(trials, "fast", "missing") is None
