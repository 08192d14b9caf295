"""Recall on a real Qt form rendered offscreen (its own process), two styles, scale 1 and 2."""

from __future__ import annotations

import importlib.util

import pytest

from rpa_vision.roi import ROIOptimizer, region_at
from rpa_vision.roi.evaluate import recall_at

pytestmark = pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PySide6 is not installed")


@pytest.fixture(scope="module")
def screens():
    from benchmarks.cases.roi import qt_screens

    return qt_screens(("Fusion", "Windows"), (1.0, 2.0))


def test_qt_form_recall(screens):
    opt = ROIOptimizer()
    found = total = 0
    for s in screens:
        assert len(s.truth) == 18
        rep = recall_at(opt.propose(s.frame()).regions, s.truth, iou=0.5)
        found += rep.found
        total += rep.total
    assert found / total >= 0.95


def test_the_region_under_each_widget_centre_is_that_widget(screens):
    for s in screens:
        regions = ROIOptimizer().propose(s.frame()).regions
        good = 0
        for t in s.truth:
            hit = region_at(regions, t.center)
            good += hit is not None and hit.box.iou(t) >= 0.5
        assert good / len(s.truth) >= 0.9, s.name
    by = {s.name: s for s in screens}
    assert by["qt_Fusion_x2"].scale == 2.0
    assert by["qt_Fusion_x2"].image.shape[1] == 2 * by["qt_Fusion_x1"].image.shape[1]
