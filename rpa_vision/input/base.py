"""The input boundary: ``InputRecorder`` (listen) and ``InputPlayer`` (act).

All coordinates are desktop physical pixels; key names follow ``rpa_vision.input.keys``.
A player implements a few primitives (pointer position, button down/up, key down/up, text,
scroll); the composite actions (click, drag, hotkey) have default implementations built on
them that backends may replace with native ones.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Button, InputEvent
from rpa_vision.core.geometry import Point
from rpa_vision.input.keys import normalize_key, parse_hotkey

EventCallback = Callable[[InputEvent], None]


class InputRecorder(ABC):
    """Delivers raw ``InputEvent``s to a callback (from the recorder's own thread)."""

    @abstractmethod
    def start(self, callback: EventCallback) -> None:
        """Start listening; ``callback`` receives every event until ``stop()``."""

    @abstractmethod
    def stop(self) -> None:
        """Stop listening (idempotent)."""

    @property
    @abstractmethod
    def is_running(self) -> bool: ...

    def __enter__(self) -> InputRecorder:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _check_point(p: Point) -> Point:
    if not isinstance(p, Point):
        raise ValidationError(f"expected a Point, got {type(p).__name__}", field="point")
    return p


class InputPlayer(ABC):
    """Moves the pointer, clicks, drags, scrolls and types."""

    #: Seconds between typed characters (0 = as fast as the backend goes).
    typing_interval_s: float = 0.0

    # --- primitives -------------------------------------------------------------------------
    @abstractmethod
    def position(self) -> Point:
        """The pointer position (desktop physical px)."""

    @abstractmethod
    def _move(self, p: Point) -> None: ...

    @abstractmethod
    def _button(self, button: Button, down: bool) -> None: ...

    @abstractmethod
    def _key(self, key: str, down: bool) -> None: ...

    @abstractmethod
    def _type(self, text: str) -> None: ...

    @abstractmethod
    def _scroll(self, dx: int, dy: int) -> None: ...

    # --- public actions (validated) --------------------------------------------------------------
    def move(self, p: Point) -> None:
        self._move(_check_point(p))

    def mouse_down(self, p: Point, button: Button = Button.LEFT) -> None:
        self._move(_check_point(p))
        self._button(Button(button), True)

    def mouse_up(self, p: Point, button: Button = Button.LEFT) -> None:
        self._move(_check_point(p))
        self._button(Button(button), False)

    def click(self, p: Point, button: Button = Button.LEFT, count: int = 1) -> None:
        if not isinstance(count, int) or not 1 <= count <= 5:
            raise ValidationError(f"click count must be 1..5, got {count!r}", field="count")
        self._move(_check_point(p))
        b = Button(button)
        for _ in range(count):
            self._button(b, True)
            self._button(b, False)

    def drag(self, p1: Point, p2: Point, button: Button = Button.LEFT, duration_s: float = 0.3,
             steps: int | None = None) -> None:
        """Press at ``p1``, move in steps to ``p2`` over ``duration_s``, release there."""
        _check_point(p1)
        _check_point(p2)
        if not (duration_s >= 0 and duration_s < 600):
            raise ValidationError(f"drag duration must be in [0, 600) s, got {duration_s}", field="duration_s")
        n = steps if steps is not None else max(2, min(100, int(duration_s / 0.02)))
        b = Button(button)
        self._move(p1)
        self._button(b, True)
        try:
            for i in range(1, n + 1):
                f = i / n
                self._move(Point(p1.x + (p2.x - p1.x) * f, p1.y + (p2.y - p1.y) * f))
                if duration_s:
                    time.sleep(duration_s / n)
        finally:
            self._button(b, False)

    def scroll(self, p: Point, dx: int = 0, dy: int = 0) -> None:
        """Scroll ``dx``/``dy`` notches at ``p`` (positive dy = up, as pynput)."""
        self._move(_check_point(p))
        if dx or dy:
            self._scroll(int(dx), int(dy))

    def type_text(self, text: str) -> None:
        if not isinstance(text, str):
            raise ValidationError("text must be a string", field="text")
        if text:
            self._type(text)

    def key(self, k: str) -> None:
        name = normalize_key(k)
        self._key(name, True)
        self._key(name, False)

    def hotkey(self, *keys: str) -> None:
        """Press the keys in order (modifiers first), release them in reverse."""
        names = parse_hotkey(list(keys))
        pressed: list[str] = []
        try:
            for k in names:
                self._key(k, True)
                pressed.append(k)
        finally:
            for k in reversed(pressed):
                self._key(k, False)

    def release_all(self) -> None:  # noqa: B027 - optional for backends that track held keys
        """Release any key or button this player still holds (used after an abort)."""
