"""Builders of raw input events for normaliser and fail-safe tests."""

from __future__ import annotations

from rpa_vision.core.events import Button, EventKind, InputEvent
from rpa_vision.core.geometry import Point


class Script:
    """Events on an explicit clock: ``s.click(10, 20)`` appends press+release and advances time."""

    def __init__(self, t0: float = 100.0) -> None:
        self.t = t0
        self.events: list[InputEvent] = []

    def wait(self, s: float) -> Script:
        self.t += s
        return self

    def _add(self, ev: InputEvent, dt: float) -> None:
        self.events.append(ev)
        self.t += dt

    def move(self, x: float, y: float, dt: float = 0.01) -> Script:
        self._add(InputEvent(EventKind.MOVE, self.t, point=Point(x, y)), dt)
        return self

    def press(self, x: float, y: float, button: Button = Button.LEFT, dt: float = 0.05,
              injected: bool = False) -> Script:
        self._add(InputEvent(EventKind.PRESS, self.t, point=Point(x, y), button=button, injected=injected), dt)
        return self

    def release(self, x: float, y: float, button: Button = Button.LEFT, dt: float = 0.05,
                injected: bool = False) -> Script:
        self._add(InputEvent(EventKind.RELEASE, self.t, point=Point(x, y), button=button, injected=injected), dt)
        return self

    def click(self, x: float, y: float, button: Button = Button.LEFT, injected: bool = False) -> Script:
        return self.press(x, y, button, injected=injected).release(x, y, button, injected=injected)

    def scroll(self, x: float, y: float, dx: int = 0, dy: int = -1, dt: float = 0.05) -> Script:
        self._add(InputEvent(EventKind.SCROLL, self.t, point=Point(x, y), dx=dx, dy=dy), dt)
        return self

    def down(self, key: str, char: str | None = None, dt: float = 0.03, injected: bool = False) -> Script:
        self._add(InputEvent(EventKind.KEY_DOWN, self.t, key=key, char=char, injected=injected), dt)
        return self

    def up(self, key: str, dt: float = 0.03, injected: bool = False) -> Script:
        self._add(InputEvent(EventKind.KEY_UP, self.t, key=key, injected=injected), dt)
        return self

    def tap(self, key: str, char: str | None = None, injected: bool = False) -> Script:
        return self.down(key, char, injected=injected).up(key, injected=injected)

    def type(self, text: str) -> Script:
        """Type as a listener reports it: shift held around capitals."""
        for ch in text:
            if ch.isupper():
                self.down("shift_l").tap(ch.lower(), ch).up("shift_l")
            elif ch == " ":
                self.tap("space")
            else:
                self.tap(ch, ch)
        return self

    def combo(self, *keys: str) -> Script:
        for k in keys:
            self.down(k)
        for k in reversed(keys):
            self.up(k)
        return self
