"""ActionNormalizer: raw events to clicks, double-clicks, drags, scrolls, typing, hotkeys, keys."""

from __future__ import annotations

import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Point
from rpa_vision.input import ActionNormalizer, NormalizerConfig
from tests.input.helpers import Script


def run(script: Script, config: NormalizerConfig | None = None) -> list[Action]:
    n = ActionNormalizer(config)
    return n.feed_all(script.events) + n.flush()


def kinds(actions: list[Action]) -> list[ActionKind]:
    return [a.kind for a in actions]


def test_single_click_at_the_press_point() -> None:
    acts = run(Script().click(10, 20))
    assert kinds(acts) == [ActionKind.CLICK]
    assert acts[0].point == Point(10, 20) and acts[0].button is Button.LEFT
    assert acts[0].t == 100.0  # the time of the press


def test_click_is_held_back_until_a_double_click_is_ruled_out() -> None:
    n = ActionNormalizer()
    s = Script().click(10, 20)
    assert n.feed_all(s.events) == []
    assert n.tick(s.t + 0.1) == []  # still inside the double-click window
    out = n.tick(s.t + 1.0)
    assert kinds(out) == [ActionKind.CLICK]


def test_double_click_within_time_and_distance() -> None:
    acts = run(Script().click(10, 20).wait(0.1).click(12, 21))
    assert kinds(acts) == [ActionKind.DOUBLE_CLICK]
    assert acts[0].point == Point(10, 20)


def test_two_clicks_too_slow_or_too_far_stay_two_clicks() -> None:
    slow = run(Script().click(10, 20).wait(0.8).click(10, 20))
    assert kinds(slow) == [ActionKind.CLICK, ActionKind.CLICK]
    far = run(Script().click(10, 20).click(60, 20))
    assert kinds(far) == [ActionKind.CLICK, ActionKind.CLICK]
    assert [a.point for a in far] == [Point(10, 20), Point(60, 20)]


def test_triple_click_is_a_double_then_a_click() -> None:
    acts = run(Script().click(5, 5).click(5, 5).click(5, 5))
    assert kinds(acts) == [ActionKind.DOUBLE_CLICK, ActionKind.CLICK]


@pytest.mark.parametrize(("button", "kind"), [(Button.RIGHT, ActionKind.RIGHT_CLICK),
                                              (Button.MIDDLE, ActionKind.MIDDLE_CLICK)])
def test_right_and_middle_clicks(button: Button, kind: ActionKind) -> None:
    acts = run(Script().click(30, 40, button))
    assert kinds(acts) == [kind] and acts[0].button is button


def test_drag_beyond_threshold() -> None:
    s = Script().press(10, 10).move(20, 15).move(40, 30).release(40, 30)
    acts = run(s)
    assert kinds(acts) == [ActionKind.DRAG]
    d = acts[0]
    assert d.point == Point(10, 10) and d.end_point == Point(40, 30)
    assert d.duration_s == pytest.approx(0.07)


def test_small_wobble_is_still_a_click_but_a_round_trip_drag_is_a_drag() -> None:
    assert kinds(run(Script().press(10, 10).move(12, 11).release(11, 10))) == [ActionKind.CLICK]
    # went far and came back: a drag, although press and release points are close
    assert kinds(run(Script().press(10, 10).move(80, 10).release(11, 10))) == [ActionKind.DRAG]


def test_right_button_drag() -> None:
    acts = run(Script().press(0, 0, Button.RIGHT).move(50, 0).release(50, 0, Button.RIGHT))
    assert kinds(acts) == [ActionKind.DRAG] and acts[0].button is Button.RIGHT


def test_scroll_bursts_merge_and_gaps_split() -> None:
    s = Script().scroll(100, 100, dy=-1).scroll(101, 102, dy=-1).scroll(100, 100, dy=-1)
    s.wait(1.0).scroll(100, 100, dy=2)
    acts = run(s)
    assert kinds(acts) == [ActionKind.SCROLL, ActionKind.SCROLL]
    assert (acts[0].scroll_dy, acts[1].scroll_dy) == (-3, 2)
    assert acts[0].point == Point(100, 100)


def test_scroll_far_away_is_a_new_scroll_and_net_zero_is_dropped() -> None:
    acts = run(Script().scroll(100, 100, dy=-1).scroll(400, 400, dy=-1))
    assert len(acts) == 2
    assert run(Script().scroll(100, 100, dy=-1).scroll(100, 100, dy=1)) == []


def test_typing_merges_with_shift_space_and_backspace() -> None:
    s = Script().type("Hello wor").tap("backspace").type("rld")
    acts = run(s)
    assert kinds(acts) == [ActionKind.TYPE]
    assert acts[0].text == "Hello world"


def test_shift_without_a_char_from_the_listener_gives_a_capital() -> None:
    acts = run(Script().down("shift").tap("a").up("shift").tap("b"))
    assert acts[0].text == "Ab"


def test_backspace_with_an_empty_buffer_is_a_key() -> None:
    acts = run(Script().tap("backspace").type("x"))
    assert kinds(acts) == [ActionKind.KEY, ActionKind.TYPE]
    assert acts[0].keys == ("backspace",)


def test_special_keys_split_typing() -> None:
    acts = run(Script().type("user").tap("tab").type("pw").tap("enter").tap("esc").tap("up"))
    assert [(a.kind, a.text or a.keys) for a in acts] == [
        (ActionKind.TYPE, "user"), (ActionKind.KEY, ("tab",)), (ActionKind.TYPE, "pw"),
        (ActionKind.KEY, ("enter",)), (ActionKind.KEY, ("esc",)), (ActionKind.KEY, ("up",)),
    ]


def test_hotkeys_have_normalised_ordered_names() -> None:
    acts = run(Script().combo("shift_r", "ctrl_l", "s").combo("cmd", "tab").down("shift").tap("tab").up("shift"))
    assert [a.keys for a in acts] == [("ctrl", "shift", "s"), ("cmd", "tab"), ("shift", "tab")]
    assert kinds(acts) == [ActionKind.HOTKEY] * 3


def test_ctrl_letter_control_character_is_not_typed() -> None:
    acts = run(Script().down("ctrl").down("c", "\x03").up("c").up("ctrl"))
    assert kinds(acts) == [ActionKind.HOTKEY] and acts[0].keys == ("ctrl", "c")


def test_lone_modifier_taps_make_nothing() -> None:
    assert run(Script().tap("shift").tap("ctrl").tap("alt")) == []


def test_stop_hotkey_is_never_recorded_and_requests_stop() -> None:
    stops: list[bool] = []
    n = ActionNormalizer(on_stop=lambda: stops.append(True))
    s = Script().type("ab").combo("ctrl", "alt", "esc")
    out = n.feed_all(s.events) + n.flush()
    assert [(a.kind, a.text) for a in out] == [(ActionKind.TYPE, "ab")]
    assert n.stop_requested and stops == [True]
    n2 = ActionNormalizer(NormalizerConfig(stop_hotkeys=("ctrl+q",)))
    out2 = n2.feed_all(Script().tap("pause").combo("ctrl", "q").events) + n2.flush()
    assert kinds(out2) == [ActionKind.KEY] and out2[0].keys == ("pause",)  # pause not a stop key here
    assert n2.stop_requested


def test_injected_events_are_ignored() -> None:
    s = Script().click(1, 1, injected=True).tap("a", "a", injected=True).click(50, 50)
    acts = run(s)
    assert kinds(acts) == [ActionKind.CLICK] and acts[0].point == Point(50, 50)


def test_chronological_order_across_kinds() -> None:
    s = Script().click(10, 10).type("abc").scroll(5, 5).click(20, 20, Button.RIGHT).combo("ctrl", "v").type("z")
    acts = run(s)
    assert kinds(acts) == [ActionKind.CLICK, ActionKind.TYPE, ActionKind.SCROLL, ActionKind.RIGHT_CLICK,
                           ActionKind.HOTKEY, ActionKind.TYPE]
    ts = [a.t for a in acts]
    assert ts == sorted(ts)


def test_typing_gap_splits_when_configured() -> None:
    s = Script().type("ab").wait(5).type("cd")
    assert [a.text for a in run(s)] == ["abcd"]
    assert [a.text for a in run(s, NormalizerConfig(typing_gap_s=2.0))] == ["ab", "cd"]


def test_on_action_callback_and_unmatched_release() -> None:
    got: list[Action] = []
    n = ActionNormalizer(on_action=got.append)
    n.feed_all(Script().release(1, 1).click(3, 3).events)
    n.flush()
    assert kinds(got) == [ActionKind.CLICK]


def test_flush_drops_a_button_still_held() -> None:
    n = ActionNormalizer()
    n.feed_all(Script().press(10, 10).move(100, 100).events)
    assert n.flush() == []


def test_bad_config() -> None:
    with pytest.raises(ValidationError):
        NormalizerConfig(drag_px=-1)
    with pytest.raises(ValidationError):
        NormalizerConfig(stop_hotkeys=("ctrl++",))
