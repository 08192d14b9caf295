"""The fail-safe: a person can always stop playback.

Two triggers, either one aborts:

- the **abort hotkey**: ``ctrl+alt+esc`` (or the ``pause`` key on keyboards that have one),
  the same keys that stop a recording; watched through an ``InputRecorder``;
- the **pointer in a corner**: the pointer within ``corner_px`` (2) pixels of any corner of any
  monitor, polled every ``poll_s`` (20 ms) through the player; a corner the player itself just
  moved to (a target there) does not count.

``FailSafe.check()`` raises ``FailSafeTriggered`` once triggered. ``SafePlayer`` wraps a player,
checks before every action and between the chunks of long ones (typing, drags), each chunk
lasting at most ``max_step_s`` (50 ms), so an abort is honoured within 100 ms; held buttons and
keys are released before the error propagates.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from rpa_vision.core.errors import FailSafeTriggered, RpaVisionError, ValidationError
from rpa_vision.core.events import Button, EventKind, InputEvent
from rpa_vision.core.geometry import Monitor, Point
from rpa_vision.core.logging import get_logger
from rpa_vision.input.base import InputPlayer, InputRecorder
from rpa_vision.input.keys import is_modifier, normalize_key, order_modifiers, parse_hotkey
from rpa_vision.input.normalize import DEFAULT_STOP_HOTKEYS

_log = get_logger(__name__)

#: The abort hotkeys (same as the recording stop hotkeys).
DEFAULT_ABORT_HOTKEYS: tuple[tuple[str, ...], ...] = DEFAULT_STOP_HOTKEYS


class FailSafe:
    """Watches the abort hotkey (``recorder``) and the screen corners (``player.position()``)."""

    def __init__(
        self,
        recorder: InputRecorder | None = None,
        player: InputPlayer | None = None,
        monitors: Sequence[Monitor] = (),
        *,
        hotkeys: Sequence[Sequence[str] | str] = DEFAULT_ABORT_HOTKEYS,
        corner_px: float = 2.0,
        poll_s: float | None = 0.02,
    ) -> None:
        if corner_px < 0:
            raise ValidationError("corner_px must be >= 0", field="corner_px")
        if poll_s is not None and poll_s <= 0:
            raise ValidationError("poll_s must be > 0 (or None for no polling thread)", field="poll_s")
        self.recorder = recorder
        self.player = player
        self.monitors = [m for m in monitors if m.index != 0]
        self.hotkeys = tuple(parse_hotkey(list(h) if not isinstance(h, str) else h) for h in hotkeys)
        self.corner_px = corner_px
        self.poll_s = poll_s
        self._reason: str | None = None
        self._event = threading.Event()
        self._mods: set[str] = set()
        self._expected: Point | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> FailSafe:
        """Start listening for the hotkey and polling the pointer (idempotent)."""
        with self._lock:
            if self.recorder is not None and not self.recorder.is_running:
                self.recorder.start(self.on_event)
            if self.player is not None and self.poll_s is not None and self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._poll_loop, name="rpa-vision-failsafe", daemon=True)
                self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            th, self._thread = self._thread, None
            self._stop.set()
        if th is not None and th is not threading.current_thread():
            th.join(2.0)
        if self.recorder is not None:
            self.recorder.stop()

    def __enter__(self) -> FailSafe:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- state -----------------------------------------------------------------------------------------
    @property
    def triggered(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str | None:
        return self._reason

    def trigger(self, reason: str) -> None:
        if not self._event.is_set():
            self._reason = reason
            self._event.set()
            _log.warning("fail-safe triggered: %s", reason)

    def reset(self) -> None:
        self._reason = None
        self._event.clear()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise ``FailSafeTriggered`` when triggered (polls the pointer once first)."""
        if not self._event.is_set() and self.player is not None:
            self.poll_once()
        if self._event.is_set():
            raise FailSafeTriggered(self._reason or "abort")

    def expect_position(self, p: Point | None) -> None:
        """The player is about to put the pointer at ``p``: a corner there is no abort."""
        self._expected = p

    # --- triggers ------------------------------------------------------------------------------------------
    def on_event(self, ev: InputEvent) -> None:
        """Recorder callback: watches modifiers and the abort hotkeys."""
        if ev.kind not in (EventKind.KEY_DOWN, EventKind.KEY_UP) or not ev.key:
            return
        name = normalize_key(ev.key)
        if is_modifier(name):
            (self._mods.add if ev.kind is EventKind.KEY_DOWN else self._mods.discard)(name)
            return
        if ev.kind is EventKind.KEY_DOWN and (*order_modifiers(self._mods), name) in self.hotkeys:
            self.trigger("abort hotkey " + "+".join((*order_modifiers(self._mods), name)))

    def in_corner(self, p: Point) -> bool:
        c = self.corner_px
        for m in self.monitors:
            xs = (m.left, m.left + m.width - 1)
            ys = (m.top, m.top + m.height - 1)
            for cx in xs:
                for cy in ys:
                    if abs(p.x - cx) <= c and abs(p.y - cy) <= c:
                        return True
        return False

    def poll_once(self) -> None:
        """Read the pointer once and trigger when it sits in a corner the player did not choose."""
        if self.player is None or not self.monitors:
            return
        try:
            p = self.player.position()
        except RpaVisionError as exc:
            _log.debug("fail-safe could not read the pointer: %s", exc)
            return
        exp = self._expected
        if exp is not None and math.hypot(p.x - exp.x, p.y - exp.y) <= 1.0:
            return
        if self.in_corner(p):
            self.trigger(f"pointer in a screen corner at ({p.x:.0f}, {p.y:.0f})")

    def _poll_loop(self) -> None:
        interval = self.poll_s or 0.02
        while not self._stop.wait(interval):
            if not self._event.is_set():
                self.poll_once()


class SafePlayer(InputPlayer):
    """A player that honours the fail-safe before and during every action.

    Typing goes in chunks of at most ``max_step_s`` worth of characters, drags in steps of at
    most ``max_step_s``; after an abort, held buttons and keys are released.
    """

    def __init__(self, inner: InputPlayer, failsafe: FailSafe, *, max_step_s: float = 0.05,
                 char_estimate_s: float = 0.005, sleep: Callable[[float], None] = time.sleep) -> None:
        if not 0 < max_step_s <= 0.1:
            raise ValidationError("max_step_s must be in (0, 0.1] for a 100 ms abort bound", field="max_step_s")
        self.inner = inner
        self.failsafe = failsafe
        self.max_step_s = max_step_s
        self.char_estimate_s = char_estimate_s
        self._sleep = sleep
        self.typing_interval_s = inner.typing_interval_s

    @property
    def chunk_chars(self) -> int:
        """Characters typed between two checks."""
        per = max(self.inner.typing_interval_s, self.char_estimate_s)
        return max(1, int(self.max_step_s / per))

    def _guard(self) -> None:
        try:
            self.failsafe.check()
        except FailSafeTriggered:
            self.inner.release_all()
            raise

    # primitives delegate after a check ------------------------------------------------------------------
    def position(self) -> Point:
        return self.inner.position()

    def _move(self, p: Point) -> None:
        self._guard()
        self.failsafe.expect_position(p)
        self.inner.move(p)

    def _button(self, button: Button, down: bool) -> None:
        if down:
            self._guard()
        self.inner._button(button, down)

    def _key(self, key: str, down: bool) -> None:
        if down:
            self._guard()
        self.inner._key(key, down)

    def _type(self, text: str) -> None:
        n = self.chunk_chars
        for i in range(0, len(text), n):
            self._guard()
            self.inner.type_text(text[i:i + n])
        self._guard()

    def _scroll(self, dx: int, dy: int) -> None:
        self._guard()
        self.inner._scroll(dx, dy)

    def release_all(self) -> None:
        self.inner.release_all()

    # long actions in checked steps --------------------------------------------------------------------------
    def drag(self, p1: Point, p2: Point, button: Button = Button.LEFT, duration_s: float = 0.3,
             steps: int | None = None) -> None:
        if not (duration_s >= 0 and duration_s < 600):
            raise ValidationError(f"drag duration must be in [0, 600) s, got {duration_s}", field="duration_s")
        n = max(2, math.ceil(duration_s / self.max_step_s), steps or 0)
        b = Button(button)
        self._move(p1)
        self._button(b, True)
        try:
            for i in range(1, n + 1):
                f = i / n
                self._move(Point(p1.x + (p2.x - p1.x) * f, p1.y + (p2.y - p1.y) * f))
                if duration_s:
                    self._sleep(duration_s / n)
        except FailSafeTriggered:
            raise  # the guard already released everything
        except BaseException:
            self.inner._button(b, False)
            raise
        self.inner._button(b, False)
