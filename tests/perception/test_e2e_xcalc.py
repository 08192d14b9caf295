"""Perceiving a real application as it changes: xcalc under Xvfb, digits typed into it."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from rpa_vision.core import Frame
from rpa_vision.perception import Perceiver
from rpa_vision.roi.evaluate import recall_at
from tests.perception.test_perceiver import FakeEncoder

pytestmark = pytest.mark.e2e


def _grab(display: str) -> Frame:
    import mss

    with mss.MSS(display=display) as s:
        return Frame.from_array(np.ascontiguousarray(np.asarray(s.grab(s.monitors[1]))), "BGRA")


@pytest.fixture()
def xcalc(xvfb):
    if shutil.which("xcalc") is None or shutil.which("xdotool") is None:
        pytest.skip("xcalc/xdotool missing")
    from rpa_vision.testbed.apps import start_and_wait
    from rpa_vision.testbed.xdotool import XDo, window_box, window_tree

    title = f"rpa-vision-perception-{os.getpid()}-{time.monotonic_ns()}"  # ours, not another test's
    proc, wid = start_and_wait(["xcalc", "-title", title, "-geometry", "+300+200"], title, xvfb.env, timeout=20.0)
    try:
        xd = XDo(xvfb.env)
        top = window_box(wid, xvfb.env)
        buttons = [w.box for w in window_tree(wid, xvfb.env) if w.depth == 1 and w.box.height < 0.2 * top.height]
        time.sleep(0.5)
        yield xvfb, xd, buttons
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_incremental_perception_of_a_changing_calculator(xcalc):
    from rpa_vision.capture.change import dirty_rects

    xvfb, xd, buttons = xcalc
    enc = FakeEncoder()
    p = Perceiver(enc)
    f1 = _grab(xvfb.display)
    s1 = p.perceive(f1)
    assert recall_at(s1.regions, buttons).recall >= 0.95
    s1.region_embeddings()
    # Without a window manager the keyboard focus follows the pointer: rest it on the calculator.
    xd.mouse_move(int(buttons[0].center.x), int(buttons[0].center.y))
    for k in ("7", "8", "9"):
        xd.key(k)
    time.sleep(0.5)
    f2 = _grab(xvfb.display)
    dirty = dirty_rects(f1, f2)
    assert dirty, "the display should have changed"
    assert sum(d.area for d in dirty) < 0.05 * f2.width * f2.height
    before = enc.embedded
    s2 = p.perceive(f2, dirty)
    assert s2.roi.incremental
    full = Perceiver(FakeEncoder()).perceive(f2)
    assert recall_at(s2.regions, [r.box for r in full.regions], iou=0.9).recall >= 0.95
    assert recall_at(s2.regions, buttons).recall >= 0.95
    e2 = s2.region_embeddings()
    # Re-embedded: regions touching a dirty rectangle, or new ones (absent from the previous screen).
    old = {r.box.as_int_tuple() for r in s1.regions}
    redo = [r for r in s2.regions
            if r.box.as_int_tuple() not in old or any(r.box.expand(2).intersection(d) is not None for d in dirty)]
    assert 1 <= enc.embedded - before - 1 <= len(redo) < len(s2.regions) // 4  # 1: the new global embedding
    idx = [i for i, r in enumerate(s2.regions) if r in full.regions]
    ref = {r: v for r, v in zip(full.regions, full.region_embeddings(), strict=True)}
    assert all(np.allclose(e2[i], ref[s2.regions[i]], atol=1e-5) for i in idx)
