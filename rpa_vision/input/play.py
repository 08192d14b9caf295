"""Executing a recorded ``Action`` through a player (what the replayer does for each step)."""

from __future__ import annotations

from dataclasses import replace

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Point
from rpa_vision.input.base import InputPlayer

#: How long a drag takes when the recording did not say.
DEFAULT_DRAG_S = 0.3


def _pt(action: Action, p: Point | None, what: str) -> Point:
    if p is None:
        raise ValidationError(f"{action.kind.value} action has no {what}", field=what)
    return p


def perform(player: InputPlayer, action: Action) -> None:
    """Do ``action`` with ``player`` (coordinates as stored: desktop physical px).

    WAIT actions sleep for ``duration_s``; every other kind maps to one player call.
    """
    k = action.kind
    if k is ActionKind.CLICK:
        player.click(_pt(action, action.point, "point"), action.button, 1)
    elif k is ActionKind.DOUBLE_CLICK:
        player.click(_pt(action, action.point, "point"), action.button, 2)
    elif k is ActionKind.RIGHT_CLICK:
        player.click(_pt(action, action.point, "point"), Button.RIGHT, 1)
    elif k is ActionKind.MIDDLE_CLICK:
        player.click(_pt(action, action.point, "point"), Button.MIDDLE, 1)
    elif k is ActionKind.DRAG:
        player.drag(_pt(action, action.point, "point"), _pt(action, action.end_point, "end_point"), action.button,
                    action.duration_s or DEFAULT_DRAG_S)
    elif k is ActionKind.SCROLL:
        player.scroll(_pt(action, action.point, "point"), action.scroll_dx, action.scroll_dy)
    elif k is ActionKind.TYPE:
        player.type_text(action.text)
    elif k is ActionKind.HOTKEY:
        player.hotkey(*action.keys)
    elif k is ActionKind.KEY:
        for key in action.keys:
            player.key(key)
    elif k is ActionKind.WAIT:
        import time

        time.sleep(action.duration_s)
    else:  # pragma: no cover - every ActionKind is handled above
        raise ValidationError(f"cannot perform {k!r}", field="kind")


def moved(action: Action, point: Point | None, end_point: Point | None = None) -> Action:
    """The same action at another place (a drag keeps its vector when only ``point`` is given)."""
    if point is None:
        return action
    if action.kind is ActionKind.DRAG and action.point is not None and action.end_point is not None:
        if end_point is None:
            end_point = Point(point.x + action.end_point.x - action.point.x,
                              point.y + action.end_point.y - action.point.y)
        return replace(action, point=point, end_point=end_point)
    return replace(action, point=point)


class ActionPerformer:
    """``perform(action)`` bound to a player (the replayer's ``Performer``)."""

    def __init__(self, player: InputPlayer) -> None:
        self.player = player

    def perform(self, action: Action) -> None:
        perform(self.player, action)
