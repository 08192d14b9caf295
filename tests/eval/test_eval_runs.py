"""The evaluation functions on the compact suite: locate trials, state recognition, ROI recall."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.eval.locate_eval import run_trials, targets
from benchmarks.eval.methods import PyAutoGUIMethod, TemplateMethod
from benchmarks.eval.perception_eval import click_recall, recall, state_recognition
from benchmarks.eval.report import evaluate
from benchmarks.suite.load import Suite, load_suite
from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite()


def test_recall_rules() -> None:
    truth = [Box(0, 0, 100, 20), Box(0, 40, 30, 60)]
    assert recall(truth, [Box(2, 1, 98, 19)]) == (1, 2)
    assert recall(truth, [Box(5, 2, 35, 18)]) == (0, 2)  # text inside a wide list row: IoU 0.3
    assert click_recall(truth, [Box(5, 2, 35, 18)]) == (1, 2)  # ... but one can click the row through it
    assert click_recall(truth, [Box(-50, 0, 60, 20)]) == (0, 2)  # centre inside, mostly outside
    assert click_recall(truth, [Box(0, 40, 30, 60), Box(0, 0, 100, 20)]) == (2, 2)
    assert recall(truth, []) == (0, 2) and click_recall([], [Box(0, 0, 1, 1)]) == (0, 0)


def test_targets_are_shared_clickable_elements_sampled_deterministically(suite: Suite) -> None:
    ref, other = suite.get("qt_base"), suite.get("qt_scale200")
    every = targets(ref, other)
    assert every and all(e.clickable and other.element(e.id) is not None for e in every)
    assert len(every) < len(ref.clickable)  # one widget is cut off at scale 2
    a, b = targets(ref, other, limit=5, seed=1), targets(ref, other, limit=5, seed=1)
    assert a == b and len(a) == 5 and targets(ref, other, limit=5, seed=2) != a


def test_baselines_on_moved_and_rescaled_pairs(suite: Suite) -> None:
    sub = Suite(suite.path, tuple(suite.get(n) for n in ("xcalc_base", "xcalc_moved", "qt_base", "qt_scale200")))
    methods = [PyAutoGUIMethod(0.9), TemplateMethod(scales=(0.5, 1.0, 2.0))]  # 3 scales: a quick test
    trials, unavailable = run_trials(sub, methods, per_pair=3)
    assert unavailable == {}
    assert len(trials) == 2 * 2 * 3
    moved = [t for t in trials if t.perturbation == "moved"]
    # the same pixels elsewhere: the best multi-scale peak is the element itself ...
    assert all(t.outcome == "correct" for t in moved if t.method == "template_multiscale")
    # ... PyAutoGUI answers every one, but takes the first match above its confidence in raster
    # order, which on xcalc can be a look-alike key above it (a confident wrong click)
    assert all(t.answer.box is not None and t.answer.confident for t in moved if t.method == "pyautogui@0.9")
    assert all(t.answer.box.y1 <= t.truth.y1 for t in moved if t.outcome == "wrong")  # type: ignore[union-attr]
    scaled = [t for t in trials if t.perturbation == "scale" and t.method == "pyautogui@0.9"]
    assert all(t.outcome in ("not_found", "wrong", "wrong_unsure") for t in scaled)
    assert all(t.answer.ms > 0 for t in trials)


def test_evaluate_report_shape(suite: Suite) -> None:
    sub = Suite(suite.path, tuple(suite.get(n) for n in ("xcalc_base", "xcalc_moved")))
    rep = evaluate(sub, per_pair=2, methods=[PyAutoGUIMethod(0.9), TemplateMethod(scales=(1.0,))], parts=("locate",))
    loc = rep["locate"]
    assert loc["trials"] == 4 and loc["per_pair"] == 2
    assert set(loc["by_perturbation"]) == {"pyautogui@0.9", "template_multiscale"}
    assert loc["by_perturbation"]["pyautogui@0.9"]["moved"]["success"] == 1.0
    assert loc["latency_ratio_to_pyautogui"]["pyautogui@0.9"] == pytest.approx(1.0)
    assert loc["failures"] == {"pyautogui@0.9": [], "template_multiscale": []}


def test_state_recognition_counts_hits_and_misses(suite: Suite) -> None:
    """Queries that are the reference screens themselves must be recognised in both views; a
    query labelled with the wrong state must be counted as a miss."""
    bases = [suite.get(n) for n in ("xcalc_base", "xgc_base", "qt_base", "qt_dialog_base")]
    same = [replace(b, config=b.config + "_copy", perturbation="moved") for b in bases[:3]]
    liar = replace(bases[0], config="liar", perturbation="theme", state="qt/form")
    sub = Suite(suite.path, (*bases, *same, liar))
    for view in ("screen", "window"):
        rep = state_recognition(sub, view=view)
        assert rep["available"] and rep["view"] == view and rep["queries"] == 4
        assert rep["top1"] == pytest.approx(0.75)
        assert [m["config"] for m in rep["misses"]] == ["liar"] and rep["misses"][0]["predicted"] == "xcalc/idle"
        assert rep["by_perturbation"] == {"moved": 1.0, "theme": 0.0}
    with pytest.raises(ValidationError):
        state_recognition(sub, view="desktop")
