"""FailSafe and SafePlayer: hotkey and corner triggers, and aborts honoured between short steps.

The 100 ms bound is checked structurally, with fakes and event ordering: every step between two
checks is at most ``max_step_s`` (<= 50 ms) long, and after a trigger at most the step in
progress completes. No test measures wall-clock time.
"""

from __future__ import annotations

import pytest

from rpa_vision.core.errors import FailSafeTriggered, ValidationError
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Monitor, Point
from rpa_vision.input import FailSafe, FakeInputPlayer, FakeInputRecorder, SafePlayer, perform
from tests.input.helpers import Script

MONS = [Monitor(0, 0, 1920, 1080, 1.0, 1), Monitor(-1280, 0, 1280, 1024, 1.0, 2)]


def make(poll: float | None = None) -> tuple[FailSafe, FakeInputRecorder, FakeInputPlayer]:
    rec, player = FakeInputRecorder(), FakeInputPlayer(Point(500, 500))
    fs = FailSafe(rec, player, MONS, poll_s=poll)
    fs.start()
    return fs, rec, player


def test_abort_hotkey_triggers_and_check_raises() -> None:
    fs, rec, _ = make()
    fs.check()  # nothing yet
    for ev in Script().down("ctrl_l").down("alt").events:
        rec.emit(ev)
    fs.check()  # modifiers alone do nothing
    for ev in Script().down("esc").events:
        rec.emit(ev)
    assert fs.triggered
    with pytest.raises(FailSafeTriggered, match="ctrl\\+alt\\+esc"):
        fs.check()
    fs.stop()
    assert not rec.is_running


def test_pause_key_also_aborts_but_plain_esc_does_not() -> None:
    fs, rec, _ = make()
    for ev in Script().tap("esc").events:
        rec.emit(ev)
    assert not fs.triggered
    for ev in Script().tap("pause").events:
        rec.emit(ev)
    assert fs.triggered and fs.reason is not None and "pause" in fs.reason


@pytest.mark.parametrize("corner", [Point(0, 0), Point(1919, 1079), Point(1, 1078), Point(-1280, 1023),
                                    Point(-1, 0)])
def test_pointer_in_any_monitor_corner_triggers(corner: Point) -> None:
    fs, _, player = make()
    player.set_position(corner)
    with pytest.raises(FailSafeTriggered, match="corner"):
        fs.check()


@pytest.mark.parametrize("p", [Point(3, 3), Point(960, 0), Point(500, 500)])
def test_pointer_near_but_not_in_a_corner_does_not_trigger(p: Point) -> None:
    fs, _, player = make()
    player.set_position(p)
    fs.check()
    assert not fs.triggered


def test_a_corner_the_player_moved_to_itself_is_not_an_abort() -> None:
    fs, _, player = make()
    safe = SafePlayer(player, fs)
    safe.click(Point(0, 0))  # a target in the corner
    fs.check()
    player.set_position(Point(1919, 0))  # the user moves it to another corner
    with pytest.raises(FailSafeTriggered):
        fs.check()


def test_polling_thread_sees_the_corner_without_a_check() -> None:
    fs, _, player = make(poll=0.005)
    try:
        player.set_position(Point(0, 0))
        assert fs.wait(timeout=10.0)
    finally:
        fs.stop()


def test_typing_is_chunked_and_stops_within_one_chunk_after_an_abort() -> None:
    fs, rec, player = make()
    player.typing_interval_s = 0.01
    safe = SafePlayer(player, fs, max_step_s=0.05)
    assert safe.chunk_chars == 5  # 5 chars x 10 ms = 50 ms between checks

    def on_call(call: tuple[object, ...]) -> None:
        if call[0] == "type" and len([c for c in player.calls if c[0] == "type"]) == 3:
            for ev in Script().combo("ctrl", "alt", "esc").events:  # the user aborts mid-typing
                rec.emit(ev)

    player.on_call = on_call
    text = "x" * 200
    with pytest.raises(FailSafeTriggered):
        safe.type_text(text)
    chunks = [c[1] for c in player.calls if c[0] == "type"]
    assert len(chunks) == 3, "typing went on after the abort"
    assert all(len(str(c)) * player.typing_interval_s <= 0.05 + 1e-9 for c in chunks)
    assert player.typed() == "x" * 15


def test_typing_without_an_abort_types_everything_in_chunks() -> None:
    fs, _, player = make()
    safe = SafePlayer(player, fs)
    safe.type_text("hello world, this is a longer text")
    assert player.typed() == "hello world, this is a longer text"
    assert len([c for c in player.calls if c[0] == "type"]) > 1


def test_drag_steps_are_short_and_an_abort_releases_the_button() -> None:
    fs, rec, player = make()
    slept: list[float] = []
    safe = SafePlayer(player, fs, max_step_s=0.05, sleep=slept.append)
    moves = {"n": 0}

    def on_call(call: tuple[object, ...]) -> None:
        if call[0] == "move":
            moves["n"] += 1
            if moves["n"] == 6:
                rec.emit(Script().tap("pause").events[0])

    player.on_call = on_call
    with pytest.raises(FailSafeTriggered):
        safe.drag(Point(100, 100), Point(900, 100), Button.LEFT, duration_s=2.0)
    assert all(s <= 0.05 for s in slept)
    assert moves["n"] == 6, "the drag moved on after the abort"
    assert player.held == (set(), set()), "the button was left pressed"
    assert player.calls[-1] == ("button", "left", False)


def test_drag_completes_with_press_moves_release() -> None:
    fs, _, player = make()
    slept: list[float] = []
    safe = SafePlayer(player, fs, sleep=slept.append)
    safe.drag(Point(0 + 10, 10), Point(110, 10), duration_s=0.5)
    assert player.calls[0] == ("move", 10, 10) and player.calls[1] == ("button", "left", True)
    assert player.calls[-2] == ("move", 110.0, 10.0) and player.calls[-1] == ("button", "left", False)
    assert len(slept) == 10 and sum(slept) == pytest.approx(0.5)


def test_hotkey_abort_between_keys_releases_held_modifiers() -> None:
    fs, rec, player = make()
    safe = SafePlayer(player, fs)

    def on_call(call: tuple[object, ...]) -> None:
        if call == ("key", "ctrl", True):
            rec.emit(Script().tap("pause").events[0])

    player.on_call = on_call
    with pytest.raises(FailSafeTriggered):
        safe.hotkey("ctrl", "s")
    assert ("key", "s", True) not in player.calls
    assert player.held == (set(), set())


def test_perform_through_a_triggered_failsafe_does_nothing() -> None:
    fs, _, player = make()
    fs.trigger("test")
    safe = SafePlayer(player, fs)
    with pytest.raises(FailSafeTriggered):
        perform(safe, Action(ActionKind.CLICK, point=Point(5, 5)))
    assert player.calls == []
    fs.reset()
    perform(safe, Action(ActionKind.CLICK, point=Point(5, 5)))
    assert ("button", "left", True) in player.calls


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError):
        FailSafe(corner_px=-1)
    with pytest.raises(ValidationError):
        SafePlayer(FakeInputPlayer(), FailSafe(), max_step_s=0.5)
