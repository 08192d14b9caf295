from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import ActionKind, Button, EventKind, InputEvent
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Point
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import ScriptedDecisionProvider
from rpa_vision.workflow.recorder import FrameRing, Recorder, RecorderConfig, parse_hotkey
from rpa_vision.workflow.replayer import ReplayConfig, Replayer
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore
from rpa_vision.workflow.targets import TargetFinder
from tests.workflow.fakes import (
    AppPerformer,
    FakeApp,
    FakeFrames,
    FakeInput,
    MiniNormalizer,
    TemplateLocator,
    button_regions,
)


class Session:
    """Drives a recorder the way a person would: every action re-renders the app into the ring."""

    def __init__(self, app: FakeApp, *, regions: bool = True, normalizer: Any = None) -> None:
        self.app = app
        self.inp = FakeInput()
        self.ring = FrameRing()
        self.t = 1.0
        self.ring.push(Frame.from_array(app.render()), t=0.5)
        finder = TargetFinder(button_regions(app) if regions else None)
        self.rec = Recorder("calc", self.inp, normalizer or MiniNormalizer(), self.ring, finder,
                            ThumbnailStateEncoder())
        self.rec.start()

    def _tick(self) -> None:
        self.t += 0.5
        self.ring.push(Frame.from_array(self.app.render()), t=self.t - 0.2)

    def click(self, name: str) -> None:
        p = self.app.button_box(name).center
        self.inp.emit(InputEvent(EventKind.PRESS, t=self.t, point=p, button=Button.LEFT))
        self.inp.emit(InputEvent(EventKind.RELEASE, t=self.t + 0.05, point=p, button=Button.LEFT))
        self.app.pressed.append(name)  # the application reacts after the press
        self._tick()

    def key(self, key: str, char: str | None = None, up: bool = True) -> None:
        self.inp.emit(InputEvent(EventKind.KEY_DOWN, t=self.t, key=key, char=char))
        if up:
            self.inp.emit(InputEvent(EventKind.KEY_UP, t=self.t + 0.01, key=key))
        self.t += 0.05

    def release(self, key: str) -> None:
        self.inp.emit(InputEvent(EventKind.KEY_UP, t=self.t, key=key))
        self.t += 0.01

    def type(self, text: str) -> None:
        for c in text:
            self.key(c, c)
        self._tick()


@pytest.fixture()
def store(home: Path) -> WorkflowStore:
    return WorkflowStore(Paths.resolve(home))


def test_record_save_and_replay_with_fakes(store: WorkflowStore) -> None:
    app = FakeApp()
    s = Session(app)
    s.click("one")
    s.click("plus")
    s.type("12")
    s.click("equals")
    wf, folder = s.rec.save(store)
    assert folder is not None and folder.name == "calc"
    kinds = [st.action.kind for st in wf.steps]
    assert kinds == [ActionKind.CLICK, ActionKind.CLICK, ActionKind.TYPE, ActionKind.CLICK]
    assert wf.steps[2].action.text == "12"
    t0 = wf.steps[0].target
    assert t0 is not None and t0.from_region and t0.xyxy == app.button_box("one")
    # the before-frame is from before the press: the display shows nothing pressed yet
    first_before = store.image("calc", wf.steps[0].before.screenshot)  # type: ignore[union-attr, arg-type]
    fresh = FakeApp().render()
    assert np.array_equal(first_before, fresh)
    assert wf.steps[0].expect_change is True
    loaded = store.load("calc")
    assert len(loaded.steps) == 4
    # replay what was recorded, on a moved window
    app2 = FakeApp(offset=(120, 60))
    r = Replayer(loaded, store, FakeFrames(app2), TemplateLocator(), AppPerformer(app2), ScriptedDecisionProvider(),
                 ThumbnailStateEncoder(), config=ReplayConfig(state_timeout_s=1, settle_s=0.05, poll_s=0.02,
                                                              verify_timeout_s=0.2))
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app2.pressed == ["one", "plus", "equals"] and app2.typed == ["12"]


def test_stop_hotkey_is_not_recorded() -> None:
    s = Session(FakeApp())
    s.click("one")
    s.key("ctrl", up=False)
    s.key("alt", up=False)
    s.key("esc")
    assert s.rec.stopped and s.rec.stop_reason == "stop hotkey"
    s.release("ctrl")  # key-ups after the stop are ignored
    wf, _ = s.rec.finish()
    assert [st.action.kind for st in wf.steps] == [ActionKind.CLICK]


def test_other_hotkeys_are_recorded() -> None:
    s = Session(FakeApp())
    s.key("ctrl", up=False)
    s.key("a")
    s.release("ctrl")
    s.key("enter")
    wf, _ = s.rec.finish()
    assert [(st.action.kind, st.action.keys) for st in wf.steps] == [
        (ActionKind.HOTKEY, ("ctrl", "a")), (ActionKind.KEY, ("enter",))]


def test_secret_typing_never_stores_the_text(store: WorkflowStore) -> None:
    s = Session(FakeApp())
    s.click("one")
    s.rec.set_secret(True, name="password")
    s.type("hunter2")
    s.rec.set_secret(False)
    s.key("ctrl", up=False)
    s.key("shift", up=False)
    s.key("f11")  # hotkey toggles secret typing on
    s.release("ctrl")
    s.release("shift")
    s.type("topsecret")
    wf, folder = s.rec.save(store)
    texts = [st.action.text for st in wf.steps if st.action.kind is ActionKind.TYPE]
    assert texts == ["{{secret:password}}", "{{secret:secret}}"]
    blob = b"".join(p.read_bytes() for p in folder.iterdir())
    assert b"hunter2" not in blob and b"topsecret" not in blob
    with pytest.raises(ValidationError):
        s.rec.set_secret(True, name="bad name!")


def test_fallback_patch_when_no_region_fits() -> None:
    s = Session(FakeApp(), regions=False)
    s.click("two")
    wf, images = s.rec.finish()
    t = wf.steps[0].target
    assert t is not None and not t.from_region
    assert (t.xyxy.width, t.xyxy.height) == (48, 48)
    assert t.xyxy.contains(FakeApp().button_box("two").center)
    assert "step-000-target.png" in images


def test_empty_recording_saves_nothing(store: WorkflowStore) -> None:
    s = Session(FakeApp())
    wf, folder = s.rec.save(store)
    assert folder is None and wf.steps == () and store.names() == []


def test_injected_events_are_ignored() -> None:
    s = Session(FakeApp())
    p = Point(100, 100)
    s.inp.emit(InputEvent(EventKind.PRESS, t=2.0, point=p, button=Button.LEFT, injected=True))
    s.inp.emit(InputEvent(EventKind.RELEASE, t=2.1, point=p, button=Button.LEFT, injected=True))
    assert s.rec.finish()[0].steps == ()


def test_frame_ring_picks_newest_frame_before_press() -> None:
    ring = FrameRing()
    a = Frame.from_array(np.zeros((10, 10, 3), np.uint8))
    b = Frame.from_array(np.full((10, 10, 3), 9, np.uint8))
    ring.push(a, t=1.0)
    ring.push(b, t=2.0)
    assert ring.before(1.5) is a
    assert ring.before(2.5) is b
    assert ring.before(0.5) is a  # nothing older: the oldest there is
    assert FrameRing().before(1.0) is None


def test_parse_hotkey() -> None:
    assert parse_hotkey("Shift+Ctrl+F12") == ("shift", "ctrl", "f12")
    with pytest.raises(ValidationError):
        parse_hotkey("ctrl+shift")
    assert ("ctrl", "alt", "esc") in RecorderConfig().stop_hotkeys


# --- with the library's ActionNormalizer ------------------------------------------------------------


def _ev(s: Session, kind: EventKind, dt: float = 0.05, **kw: Any) -> None:
    s.inp.emit(InputEvent(kind, t=s.t, **kw))
    s.t += dt


def _keys(s: Session, *keys: str) -> None:
    """Press ``keys`` in order, then release them in reverse (a hotkey)."""
    for k in keys:
        _ev(s, EventKind.KEY_DOWN, 0.02, key=k)
    for k in reversed(keys):
        _ev(s, EventKind.KEY_UP, 0.02, key=k)


def test_real_normalizer_double_click_drag_scroll_typing_hotkeys_and_own_hotkeys() -> None:
    from rpa_vision.input import ActionNormalizer

    app = FakeApp()
    s = Session(app, normalizer=ActionNormalizer())
    one, two, plus, eq = (app.button_box(n).center for n in ("one", "two", "plus", "equals"))
    for _ in range(2):  # double-click
        _ev(s, EventKind.PRESS, point=one, button=Button.LEFT)
        _ev(s, EventKind.RELEASE, point=one, button=Button.LEFT)
    s.t += 1.0
    _ev(s, EventKind.PRESS, point=two, button=Button.LEFT)  # drag by 40 px
    for dx in (10, 25, 40):
        _ev(s, EventKind.MOVE, point=Point(two.x + dx, two.y))
    _ev(s, EventKind.RELEASE, point=Point(two.x + 40, two.y), button=Button.LEFT)
    s.t += 1.0
    for _ in range(3):  # one scroll burst
        _ev(s, EventKind.SCROLL, 0.1, point=plus, dy=-1)
    s.t += 1.0
    _ev(s, EventKind.KEY_DOWN, key="shift")
    _ev(s, EventKind.KEY_DOWN, key="h", char="H")
    _ev(s, EventKind.KEY_UP, key="h")
    _ev(s, EventKind.KEY_UP, key="shift")
    _ev(s, EventKind.KEY_DOWN, key="i", char="i")
    _ev(s, EventKind.KEY_UP, key="i")
    _keys(s, "ctrl", "s")
    _ev(s, EventKind.PRESS, point=eq, button=Button.RIGHT)
    _ev(s, EventKind.RELEASE, point=eq, button=Button.RIGHT)
    s.t += 1.0
    _keys(s, "ctrl", "shift", "f11")  # secret typing on: never a step, and the text is never stored
    for c in "pw":
        _ev(s, EventKind.KEY_DOWN, key=c, char=c)
        _ev(s, EventKind.KEY_UP, key=c)
    _keys(s, "ctrl", "shift", "f11")
    _keys(s, "ctrl", "alt", "esc")  # the stop hotkey
    assert s.rec.stopped and s.rec.stop_reason == "stop hotkey"
    wf, _ = s.rec.finish()
    got = [(st.action.kind, st.action.text or st.action.keys) for st in wf.steps]
    assert got == [(ActionKind.DOUBLE_CLICK, ()), (ActionKind.DRAG, ()), (ActionKind.SCROLL, ()),
                   (ActionKind.TYPE, "Hi"), (ActionKind.HOTKEY, ("ctrl", "s")), (ActionKind.RIGHT_CLICK, ()),
                   (ActionKind.TYPE, "{{secret:secret}}")]
    drag, scroll = wf.steps[1].action, wf.steps[2].action
    assert drag.end_point is not None and drag.end_point.x - drag.point.x == 40  # type: ignore[union-attr]
    assert scroll.scroll_dy == -3
    for i, name in ((0, "one"), (1, "two"), (2, "plus"), (5, "equals")):
        t = wf.steps[i].target
        assert t is not None and t.xyxy.contains(app.button_box(name).center), (i, name)
    assert wf.steps[1].delay_s >= 0.9  # the pause before the drag, as recorded


def test_held_back_click_keeps_the_screen_from_before_it() -> None:
    """The normaliser holds a click back until the next event; a busy screen (a blinking caret,
    a clock) meanwhile pushes the frame from before the click out of the ring. The step must
    still get the screen as it was before the click, not a later one."""
    from rpa_vision.input import ActionNormalizer

    app = FakeApp()
    s = Session(app, normalizer=ActionNormalizer())
    before_click = s.ring.latest()
    p = app.button_box("one").center
    _ev(s, EventKind.PRESS, point=p, button=Button.LEFT)
    _ev(s, EventKind.RELEASE, point=p, button=Button.LEFT)
    app.pressed.append("one")
    for _ in range(40):  # 10 s of a changing screen after the click
        s.t += 0.25
        app.pressed.append("two")
        s.ring.push(Frame.from_array(app.render()), t=s.t)
    _ev(s, EventKind.KEY_DOWN, key="enter")
    _ev(s, EventKind.KEY_UP, key="enter")
    wf, images = s.rec.finish()
    assert [st.action.kind for st in wf.steps] == [ActionKind.CLICK, ActionKind.KEY]
    assert before_click is not None
    shot = images["step-000-before.png"]
    import cv2

    decoded = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, before_click.bgr())
