"""Recording ignores hover effects: the crop shows the element as it looks with the pointer elsewhere."""

from __future__ import annotations

import cv2
import numpy as np

from rpa_vision.core.events import Button, EventKind, InputEvent
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Point
from rpa_vision.workflow.hover import PointerTrail, changed_box, hover_only
from rpa_vision.workflow.recorder import FrameRing, Recorder, RecorderConfig
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.targets import TargetFinder
from tests.workflow.fakes import FakeApp, FakeInput, MiniNormalizer, button_regions


def _hovered(app: FakeApp, name: str, extra_change: bool = False) -> np.ndarray:
    img = app.render()
    b = app.button_box(name)
    cv2.rectangle(img, (int(b.x1), int(b.y1)), (int(b.x2) - 1, int(b.y2) - 1), (0, 0, 0), 3)
    if extra_change:
        img[260:290, 300:390] = 0  # something else on the screen changed too
    return img


def _record_click(extra_change: bool = False, unhover: bool = True) -> tuple[np.ndarray, np.ndarray, bytes]:
    app = FakeApp()
    inp, ring = FakeInput(), FrameRing()
    plain = app.render()
    ring.push(Frame.from_array(plain), t=0.5)
    rec = Recorder("h", inp, MiniNormalizer(), ring, TargetFinder(button_regions(app)), ThumbnailStateEncoder(),
                   config=RecorderConfig(unhover=unhover)).start()
    far, p = Point(300, 250), app.button_box("two").center
    inp.emit(InputEvent(EventKind.MOVE, t=0.8, point=far))
    inp.emit(InputEvent(EventKind.MOVE, t=1.0, point=p))  # the pointer arrives: the button lights up
    ring.push(Frame.from_array(_hovered(app, "two", extra_change)), t=1.05)
    inp.emit(InputEvent(EventKind.PRESS, t=1.5, point=p, button=Button.LEFT))
    inp.emit(InputEvent(EventKind.RELEASE, t=1.55, point=p, button=Button.LEFT))
    wf, images = rec.finish()
    t = wf.steps[0].target
    assert t is not None and t.xyxy.contains(p)
    crop = cv2.imdecode(np.frombuffer(images["step-000-target.png"], np.uint8), cv2.IMREAD_COLOR)
    return crop, Frame.from_array(plain).crop(t.xyxy), images["step-000-before.png"]


def test_hover_effect_is_not_recorded() -> None:
    crop, plain, _ = _record_click()
    assert np.array_equal(crop, plain)


def test_other_changes_keep_the_frame_at_the_press() -> None:
    crop, plain, _ = _record_click(extra_change=True)
    assert not np.array_equal(crop, plain)  # the hovered look: the screen changed elsewhere too


def test_unhover_can_be_switched_off() -> None:
    crop, plain, _ = _record_click(unhover=False)
    assert not np.array_equal(crop, plain)


def test_pointer_trail_arrival() -> None:
    tr = PointerTrail()
    assert tr.arrived(1.0, Point(0, 0), 10) is None
    for t, x in ((0.1, 200), (0.2, 100), (0.3, 5), (0.4, 2)):
        tr.add(t, Point(x, 0))
    assert tr.arrived(0.5, Point(0, 0), 10) == 0.3
    assert tr.arrived(0.25, Point(100, 0), 10) == 0.2  # the move at 0.2 came close
    tr2 = PointerTrail()
    tr2.add(0.1, Point(1, 1))
    assert tr2.arrived(0.5, Point(0, 0), 10) is None  # it rested there all along


def test_hover_only_rules() -> None:
    a = Frame.from_array(np.full((100, 100, 3), 200, np.uint8))
    img = a.bgr().copy()
    img[40:60, 40:60] = 0
    b = Frame.from_array(img)
    assert changed_box(a, b) == Box(40, 40, 60, 60)
    assert hover_only(a, b, Box(38, 38, 62, 62))
    assert not hover_only(a, b, Box(0, 0, 10, 10))  # the change is elsewhere
    assert not hover_only(a, a, Box(38, 38, 62, 62))  # nothing changed
