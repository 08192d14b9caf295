"""perform(), the fake backends, key names, the factories and the doctor's status line."""

from __future__ import annotations

import pytest

from rpa_vision.core.errors import DisplayUnavailableError, InputBackendError, UnknownNameError, ValidationError
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Point
from rpa_vision.input import (
    ActionPerformer,
    FakeInputPlayer,
    FakeInputRecorder,
    create_input_player,
    create_input_recorder,
    input_backend_status,
    moved,
    normalize_key,
    parse_hotkey,
    perform,
)
from rpa_vision.input.injection import injecting, injection_active
from tests.input.helpers import Script


def test_perform_every_action_kind() -> None:
    p = FakeInputPlayer()
    perform(p, Action(ActionKind.CLICK, point=Point(1, 2)))
    assert p.calls == [("move", 1, 2), ("button", "left", True), ("button", "left", False)]
    p.calls.clear()
    perform(p, Action(ActionKind.DOUBLE_CLICK, point=Point(3, 4)))
    assert [c for c in p.calls if c[0] == "button"] == [("button", "left", True), ("button", "left", False)] * 2
    p.calls.clear()
    perform(p, Action(ActionKind.RIGHT_CLICK, point=Point(5, 6)))
    perform(p, Action(ActionKind.MIDDLE_CLICK, point=Point(5, 6)))
    assert ("button", "right", True) in p.calls and ("button", "middle", False) in p.calls
    p.calls.clear()
    perform(p, Action(ActionKind.SCROLL, point=Point(7, 8), scroll_dy=-3))
    assert p.calls == [("move", 7, 8), ("scroll", 0, -3)]
    p.calls.clear()
    perform(p, Action(ActionKind.TYPE, text="héllo"))
    assert p.typed() == "héllo"
    p.calls.clear()
    perform(p, Action(ActionKind.HOTKEY, keys=("ctrl", "shift", "s")))
    assert p.calls == [("key", "ctrl", True), ("key", "shift", True), ("key", "s", True),
                       ("key", "s", False), ("key", "shift", False), ("key", "ctrl", False)]
    p.calls.clear()
    perform(p, Action(ActionKind.KEY, keys=("enter",)))
    assert p.calls == [("key", "enter", True), ("key", "enter", False)]
    p.calls.clear()
    perform(p, Action(ActionKind.DRAG, point=Point(0, 0), end_point=Point(10, 0), duration_s=0.0))
    assert p.calls[1] == ("button", "left", True) and p.calls[-1] == ("button", "left", False)
    assert p.calls[-2] == ("move", 10.0, 0.0)
    p.calls.clear()
    perform(p, Action(ActionKind.WAIT, duration_s=0.0))
    assert p.calls == []


def test_performer_and_moved() -> None:
    p = FakeInputPlayer()
    a = Action(ActionKind.DRAG, point=Point(10, 10), end_point=Point(30, 20), duration_s=0.0)
    b = moved(a, Point(110, 10))
    assert b.end_point == Point(130, 20)
    ActionPerformer(p).perform(moved(Action(ActionKind.CLICK, point=Point(1, 1)), Point(50, 60)))
    assert p.calls[0] == ("move", 50, 60)


def test_player_validation() -> None:
    p = FakeInputPlayer()
    with pytest.raises(ValidationError):
        p.click((1, 2))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        p.click(Point(1, 1), count=0)
    with pytest.raises(ValidationError):
        p.drag(Point(0, 0), Point(1, 1), duration_s=-1)
    with pytest.raises(ValidationError):
        p.type_text(5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        p.key("")


def test_fake_recorder_lifecycle() -> None:
    rec = FakeInputRecorder()
    got: list[object] = []
    ev = Script().tap("a", "a").events[0]
    assert not rec.emit(ev)
    rec.start(got.append)
    with pytest.raises(InputBackendError):
        rec.start(got.append)
    assert rec.emit(ev) and got == [ev]
    with rec:
        pass
    assert not rec.is_running and not rec.emit(ev)


@pytest.mark.parametrize(("raw", "name"), [("Ctrl_L", "ctrl"), ("shift_r", "shift"), ("Key.enter", "enter"),
                                           ("Return", "enter"), ("A", "a"), ("page-up", "page_up"), ("+", "+"),
                                           ("Escape", "esc"), ("super", "cmd"), ("F5", "f5")])
def test_key_names(raw: str, name: str) -> None:
    assert normalize_key(raw) == name


def test_parse_hotkey() -> None:
    assert parse_hotkey("shift+ctrl+S") == ("ctrl", "shift", "s")
    assert parse_hotkey(["Control", "Alt", "Escape"]) == ("ctrl", "alt", "esc")
    assert parse_hotkey("+") == ("+",)
    with pytest.raises(ValidationError):
        parse_hotkey("")


def test_injection_window() -> None:
    with injecting():
        assert injection_active()
    assert injection_active()  # within the grace period
    assert not injection_active(now=1e12)


def test_factories() -> None:
    assert isinstance(create_input_player("fake"), FakeInputPlayer)
    assert isinstance(create_input_recorder("fake"), FakeInputRecorder)
    with pytest.raises(UnknownNameError, match="auto, fake, pynput"):
        create_input_player("xdotool")
    with pytest.raises(UnknownNameError, match="auto, fake, pynput"):
        create_input_recorder("evdev")


def test_pynput_without_a_display_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("X11 only")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DisplayUnavailableError, match="DISPLAY") as ei:
        input_backend_status()
    assert "\n" not in str(ei.value)
    with pytest.raises(DisplayUnavailableError):
        create_input_player("pynput")
    with pytest.raises(DisplayUnavailableError):  # auto never falls back to a fake
        create_input_player("auto")
    with pytest.raises(DisplayUnavailableError):
        create_input_recorder("pynput").start(lambda e: None)


def test_pynput_on_a_dead_display_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("X11 only")
    if "pynput" in sys.modules:
        pytest.skip("pynput already bound to a display in this process")
    monkeypatch.setenv("DISPLAY", ":4998")
    with pytest.raises((DisplayUnavailableError, InputBackendError)) as ei:
        input_backend_status(timeout_s=10)
    assert "\n" not in str(ei.value)


def test_pynput_key_names() -> None:
    from types import SimpleNamespace

    from rpa_vision.input.pynput_backend import key_name

    assert key_name(SimpleNamespace(name="ctrl_l")) == ("ctrl", None)
    assert key_name(SimpleNamespace(name="space")) == ("space", " ")
    assert key_name(SimpleNamespace(name=None, char="A")) == ("a", "A")
    assert key_name(SimpleNamespace(name=None, char="\x03")) == ("c", None)
    assert key_name(SimpleNamespace(name=None, char=None, vk=65027)) == ("vk_65027", None)


def test_button_enum_round_trip() -> None:
    p = FakeInputPlayer()
    p.mouse_down(Point(1, 1), Button.RIGHT)
    assert p.held[0] == {Button.RIGHT}
    p.release_all()
    assert p.held == (set(), set())


def test_listener_that_dies_while_starting_is_a_clear_error() -> None:
    import threading

    from rpa_vision.input.pynput_backend import _wait_ready

    class Dead(threading.Thread):
        _ready = False

    dead = Dead(target=lambda: None)
    dead.start()
    dead.join()
    with pytest.raises(InputBackendError, match="stopped while starting"):
        _wait_ready(dead, 5.0)

    class Stuck(threading.Thread):
        _ready = False

    gate = threading.Event()
    stuck = Stuck(target=gate.wait)
    stuck.start()
    try:
        with pytest.raises(InputBackendError, match="did not start"):
            _wait_ready(stuck, 0.05)
    finally:
        gate.set()
        stuck.join()
