"""Input events and actions: validation and the dict round trip used by workflow files."""

from __future__ import annotations

import json
import math

import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Action, ActionKind, Button, EventKind, InputEvent
from rpa_vision.core.geometry import Monitor, Point

MON = Monitor(-1920, 0, 1920, 1080, 1.25, 2, "left")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": EventKind.MOVE},
        {"kind": EventKind.PRESS, "point": Point(1, 1)},
        {"kind": EventKind.SCROLL},
        {"kind": EventKind.KEY_DOWN},
        {"kind": EventKind.KEY_UP, "key": ""},
        {"kind": EventKind.MOVE, "point": Point(1, 1), "t": math.nan},
    ],
)
def test_input_event_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        InputEvent(**kwargs)  # type: ignore[arg-type]


def test_input_event_ok() -> None:
    ev = InputEvent(EventKind.PRESS, 1.0, point=Point(5, 5), button=Button.LEFT, monitor=MON)
    assert not ev.injected and ev.monitor is MON


ACTIONS = [
    Action(ActionKind.CLICK, t=1.23456, point=Point(-100.5, 20), monitor=MON),
    Action(ActionKind.DOUBLE_CLICK, point=Point(1, 2)),
    Action(ActionKind.RIGHT_CLICK, point=Point(1, 2), button=Button.RIGHT),
    Action(ActionKind.MIDDLE_CLICK, point=Point(1, 2), button=Button.MIDDLE),
    Action(ActionKind.DRAG, point=Point(0, 0), end_point=Point(50, 60), duration_s=0.42, button=Button.RIGHT),
    Action(ActionKind.SCROLL, point=Point(3, 3), scroll_dx=1, scroll_dy=-4),
    Action(ActionKind.TYPE, text="hé {{secret:pw}}"),
    Action(ActionKind.HOTKEY, keys=("ctrl", "shift", "s")),
    Action(ActionKind.KEY, keys=("enter",)),
    Action(ActionKind.WAIT, duration_s=1.5),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.kind.value)
def test_action_round_trips_through_json(action: Action) -> None:
    d = json.loads(json.dumps(action.to_dict()))
    back = Action.from_dict(d)
    assert back.kind is action.kind
    assert back.point == action.point and back.end_point == action.end_point
    assert back.text == action.text and back.keys == action.keys
    assert (back.scroll_dx, back.scroll_dy) == (action.scroll_dx, action.scroll_dy)
    assert back.duration_s == pytest.approx(action.duration_s)
    assert back.monitor == action.monitor
    assert back.t == pytest.approx(round(action.t, 4))
    if action.is_pointer:
        assert back.button is action.button


def test_action_to_dict_omits_empty_fields() -> None:
    d = Action(ActionKind.TYPE, text="x").to_dict()
    assert set(d) == {"kind", "t", "text"}
    c = Action(ActionKind.CLICK, point=Point(1, 2)).to_dict()
    assert c["button"] == "left" and "keys" not in c


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": ActionKind.CLICK},
        {"kind": ActionKind.DRAG, "point": Point(0, 0)},
        {"kind": ActionKind.TYPE},
        {"kind": ActionKind.HOTKEY},
        {"kind": ActionKind.KEY},
        {"kind": ActionKind.SCROLL, "point": Point(0, 0)},
        {"kind": ActionKind.WAIT, "duration_s": -1.0},
        {"kind": ActionKind.WAIT, "duration_s": math.inf},
    ],
)
def test_action_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Action(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "d",
    [
        {},
        {"kind": "teleport"},
        {"kind": "click"},
        {"kind": "click", "point": [1]},
        {"kind": "click", "point": [1, 2], "button": "thumb"},
        {"kind": "scroll", "point": [1, 2], "scroll": [0]},
        {"kind": "click", "point": [1, 2], "monitor": {"left": 0}},
        {"kind": "click", "point": [1, 2], "monitor": {"left": 0, "top": 0, "width": 0, "height": 5}},
    ],
)
def test_from_dict_rejects_malformed_with_one_error_type(d: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Action.from_dict(d)
