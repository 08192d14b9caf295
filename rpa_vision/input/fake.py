"""Input without devices: a recorder fed by the program and a player that logs its calls."""

from __future__ import annotations

import threading
from collections.abc import Callable

from rpa_vision.core.errors import InputBackendError
from rpa_vision.core.events import Button, InputEvent
from rpa_vision.core.geometry import Point
from rpa_vision.input.base import EventCallback, InputPlayer, InputRecorder


class FakeInputRecorder(InputRecorder):
    """``emit(event)`` delivers an event to the callback given to ``start`` (while running)."""

    def __init__(self) -> None:
        self._callback: EventCallback | None = None
        self._lock = threading.Lock()
        self.starts = 0

    def start(self, callback: EventCallback) -> None:
        with self._lock:
            if self._callback is not None:
                raise InputBackendError("the fake recorder is already running")
            self._callback = callback
            self.starts += 1

    def stop(self) -> None:
        with self._lock:
            self._callback = None

    @property
    def is_running(self) -> bool:
        return self._callback is not None

    def emit(self, event: InputEvent) -> bool:
        """Deliver ``event``; False when not running (the event is dropped, like a real device)."""
        cb = self._callback
        if cb is None:
            return False
        cb(event)
        return True


class FakeInputPlayer(InputPlayer):
    """Records every primitive as a tuple in ``calls``; the pointer position is settable.

    ``calls`` entries: ``("move", x, y)``, ``("button", "left", True)``, ``("key", "ctrl", True)``,
    ``("type", "abc")``, ``("scroll", dx, dy)``. ``on_call`` (optional) runs after each one, which
    lets a test make something happen in the middle of an action.
    """

    def __init__(self, position: Point | None = None, typing_interval_s: float = 0.0) -> None:
        self._pos = position or Point(100, 100)
        self.calls: list[tuple[object, ...]] = []
        self.typing_interval_s = typing_interval_s
        self.on_call: Callable[[tuple[object, ...]], None] | None = None
        self._held_buttons: set[Button] = set()
        self._held_keys: set[str] = set()

    def set_position(self, p: Point) -> None:
        """Move the pointer as a user would (not recorded as a call)."""
        self._pos = p

    def _log(self, call: tuple[object, ...]) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)

    def position(self) -> Point:
        return self._pos

    def _move(self, p: Point) -> None:
        self._pos = p
        self._log(("move", p.x, p.y))

    def _button(self, button: Button, down: bool) -> None:
        (self._held_buttons.add if down else self._held_buttons.discard)(button)
        self._log(("button", button.value, down))

    def _key(self, key: str, down: bool) -> None:
        (self._held_keys.add if down else self._held_keys.discard)(key)
        self._log(("key", key, down))

    def _type(self, text: str) -> None:
        self._log(("type", text))

    def _scroll(self, dx: int, dy: int) -> None:
        self._log(("scroll", dx, dy))

    @property
    def held(self) -> tuple[set[Button], set[str]]:
        """Buttons and keys currently down (both empty after a clean action)."""
        return set(self._held_buttons), set(self._held_keys)

    def release_all(self) -> None:
        for b in list(self._held_buttons):
            self._button(b, False)
        for k in list(self._held_keys):
            self._key(k, False)

    # convenience for tests ----------------------------------------------------------------------------
    def typed(self) -> str:
        return "".join(str(c[1]) for c in self.calls if c[0] == "type")
