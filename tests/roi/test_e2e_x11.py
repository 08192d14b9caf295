"""Recall on real applications: x11-apps under Xvfb, ground truth from their X window trees."""

from __future__ import annotations

import shutil

import pytest

from rpa_vision.core import Frame
from rpa_vision.roi import ROIOptimizer, region_at
from rpa_vision.roi.evaluate import recall_at

pytestmark = pytest.mark.e2e

_NEEDS = ("Xvfb", "xdotool", "xwininfo", "xcalc", "xedit", "xlogo", "xclock")


@pytest.fixture(scope="module")
def screens():
    missing = [t for t in _NEEDS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing: {', '.join(missing)}")
    from benchmarks.cases.roi import x11_screens

    return x11_screens(((1920, 1080),), ("default", "moved_bigfont"))


def test_recall_of_clickable_elements_on_x11_apps(screens):
    opt = ROIOptimizer()
    found = total = 0
    for s in screens:
        assert len(s.truth) >= 55, s.name  # xcalc's buttons at least
        rep = recall_at(opt.propose(Frame.from_array(s.image)).regions, s.truth, iou=0.5)
        found += rep.found
        total += rep.total
    assert found / total >= 0.95


def test_the_element_under_a_button_centre_is_that_button(screens):
    s = screens[0]
    regions = ROIOptimizer().propose(Frame.from_array(s.image)).regions
    good = 0
    for b in s.truth:
        hit = region_at(regions, b.center)
        good += hit is not None and hit.box.iou(b) >= 0.5
    assert good / len(s.truth) >= 0.9
