"""``ActionNormalizer``: raw input events in, user-level ``Action``s out.

What it recognises:

- left click; double-click (second press within ``double_click_s`` and ``double_click_px``);
  right and middle click; drag (press, move beyond ``drag_px``, release) with any button;
- scroll bursts (events within ``scroll_gap_s`` and ``scroll_px`` of the first) summed into one;
- typing: printable keys merge into one TYPE action (shift gives capitals, backspace edits the
  buffer, space is a space); special keys (enter, tab, esc, arrows, f-keys ...) become KEY
  actions; ctrl/alt/cmd + key becomes a HOTKEY (``("ctrl", "shift", "s")``, modifiers in
  canonical order), and shift + a special key too (``("shift", "tab")``).

Events flagged ``injected`` are ignored, and so are the stop hotkeys (default ctrl+alt+esc and
pause): pressing one sets ``stop_requested`` and calls ``on_stop`` but is never recorded.

A click is held back until a double-click is ruled out: by the next event, by ``tick(now)``
when the time window has passed, or by ``flush()`` at the end of a recording. An action's ``t``
is the time of its first event (the press, the first key), so a recorder can pick the screen
as it was before the action.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Action, ActionKind, Button, EventKind, InputEvent
from rpa_vision.core.geometry import Monitor, Point
from rpa_vision.input.keys import SPECIAL_KEYS, is_modifier, normalize_key, order_modifiers, parse_hotkey

#: Stops a recording and aborts a replay (see ``rpa_vision.input.failsafe``).
DEFAULT_STOP_HOTKEY: tuple[str, ...] = ("ctrl", "alt", "esc")
DEFAULT_STOP_HOTKEYS: tuple[tuple[str, ...], ...] = (DEFAULT_STOP_HOTKEY, ("pause",))

_CLICK_KIND = {
    Button.LEFT: ActionKind.CLICK, Button.RIGHT: ActionKind.RIGHT_CLICK, Button.MIDDLE: ActionKind.MIDDLE_CLICK,
}


@dataclass(frozen=True)
class NormalizerConfig:
    double_click_s: float = 0.5
    double_click_px: float = 5.0
    drag_px: float = 6.0
    scroll_gap_s: float = 0.6
    scroll_px: float = 30.0
    typing_gap_s: float | None = None  # split typed text after a pause this long (None: never)
    stop_hotkeys: tuple[tuple[str, ...], ...] = DEFAULT_STOP_HOTKEYS

    def __post_init__(self) -> None:
        for name in ("double_click_s", "double_click_px", "drag_px", "scroll_gap_s", "scroll_px"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0):
                raise ValidationError(f"{name} must be a number >= 0, got {v!r}", field=name)
        object.__setattr__(self, "stop_hotkeys", tuple(parse_hotkey(h) for h in self.stop_hotkeys))


@dataclass
class _Scroll:
    t: float
    point: Point
    monitor: Monitor | None
    dx: int
    dy: int
    last_t: float


class ActionNormalizer:
    """Feed events with ``feed``; completed actions come back (and go to ``on_action``)."""

    def __init__(
        self,
        config: NormalizerConfig | None = None,
        *,
        on_action: Callable[[Action], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.config = config or NormalizerConfig()
        self.on_action = on_action
        self.on_stop = on_stop
        self.stop_requested = False
        self._lock = threading.RLock()
        self._out: list[Action] = []
        self._mods: set[str] = set()
        self._press: InputEvent | None = None
        self._press_dist = 0.0
        self._pending: Action | None = None  # a left click that may become a double-click
        self._pending_release_t = 0.0
        self._double = False
        self._scroll: _Scroll | None = None
        self._text: list[str] = []
        self._text_t = 0.0
        self._text_last_t = 0.0
        self._text_monitor: Monitor | None = None

    # --- public ---------------------------------------------------------------------------------
    def feed(self, ev: InputEvent) -> list[Action]:
        with self._lock:
            if not ev.injected:
                self._expire(ev.t)
                handler = {
                    EventKind.MOVE: self._on_move,
                    EventKind.PRESS: self._on_press,
                    EventKind.RELEASE: self._on_release,
                    EventKind.SCROLL: self._on_scroll,
                    EventKind.KEY_DOWN: self._on_key_down,
                    EventKind.KEY_UP: self._on_key_up,
                }[ev.kind]
                handler(ev)
            return self._drain()

    def feed_all(self, events: Sequence[InputEvent]) -> list[Action]:
        out: list[Action] = []
        for ev in events:
            out.extend(self.feed(ev))
        return out

    def tick(self, now: float) -> list[Action]:
        """Release actions whose waiting window ended by ``now`` (event clock, time.monotonic)."""
        with self._lock:
            self._expire(now)
            return self._drain()

    def flush(self) -> list[Action]:
        """The end of a recording: everything still held back comes out."""
        with self._lock:
            self._emit_pending()
            self._emit_scroll()
            self._emit_text()
            self._press = None
            self._double = False
            return self._drain()

    @property
    def held_modifiers(self) -> frozenset[str]:
        return frozenset(self._mods)

    # --- internals ------------------------------------------------------------------------------------
    def _drain(self) -> list[Action]:
        out, self._out = self._out, []
        if self.on_action is not None:
            for a in out:
                self.on_action(a)
        return out

    def _expire(self, now: float) -> None:
        c = self.config
        if self._pending is not None and self._press is None and now - self._pending_release_t > c.double_click_s:
            self._emit_pending()
        if self._scroll is not None and now - self._scroll.last_t > c.scroll_gap_s:
            self._emit_scroll()
        if self._text and c.typing_gap_s is not None and now - self._text_last_t > c.typing_gap_s:
            self._emit_text()

    def _emit_pending(self) -> None:
        if self._pending is not None:
            self._out.append(self._pending)
            self._pending = None
        self._double = False

    def _emit_scroll(self) -> None:
        s, self._scroll = self._scroll, None
        if s is not None and (s.dx or s.dy):
            self._out.append(Action(ActionKind.SCROLL, t=s.t, point=s.point, scroll_dx=s.dx, scroll_dy=s.dy,
                                    monitor=s.monitor))

    def _emit_text(self) -> None:
        if self._text:
            self._out.append(Action(ActionKind.TYPE, t=self._text_t, text="".join(self._text),
                                    monitor=self._text_monitor))
        self._text = []

    # pointer ----------------------------------------------------------------------------------------------
    def _on_move(self, ev: InputEvent) -> None:
        if self._press is not None and ev.point is not None and self._press.point is not None:
            self._press_dist = max(self._press_dist, ev.point.distance(self._press.point))

    def _on_press(self, ev: InputEvent) -> None:
        self._emit_text()
        self._emit_scroll()
        if self._press is not None:  # a second button while one is held: not an action of its own
            return
        c = self.config
        if self._pending is not None:
            p = self._pending
            if (
                ev.button is Button.LEFT
                and ev.t - self._pending_release_t <= c.double_click_s
                and p.point is not None and ev.point is not None
                and ev.point.distance(p.point) <= c.double_click_px
            ):
                self._double = True
            else:
                self._emit_pending()
        self._press = ev
        self._press_dist = 0.0

    def _on_release(self, ev: InputEvent) -> None:
        press = self._press
        if press is None or ev.button is not press.button or press.point is None or ev.point is None:
            return
        self._press = None
        dist = max(self._press_dist, ev.point.distance(press.point))
        button = press.button or Button.LEFT
        if dist > self.config.drag_px:
            self._emit_pending()
            self._out.append(Action(ActionKind.DRAG, t=press.t, point=press.point, end_point=ev.point,
                                    button=button, duration_s=max(0.0, ev.t - press.t), monitor=press.monitor))
            return
        if button is Button.LEFT:
            if self._double and self._pending is not None:
                first = self._pending
                self._pending = None
                self._double = False
                self._out.append(Action(ActionKind.DOUBLE_CLICK, t=first.t, point=first.point, button=button,
                                        monitor=first.monitor))
            else:
                self._pending = Action(ActionKind.CLICK, t=press.t, point=press.point, button=button,
                                       monitor=press.monitor)
                self._pending_release_t = ev.t
        else:
            self._out.append(Action(_CLICK_KIND[button], t=press.t, point=press.point, button=button,
                                    monitor=press.monitor))

    def _on_scroll(self, ev: InputEvent) -> None:
        self._emit_text()
        self._emit_pending()
        if ev.point is None:  # InputEvent guarantees a point for SCROLL; typed as optional
            return
        s = self._scroll
        c = self.config
        if s is not None and ev.t - s.last_t <= c.scroll_gap_s and ev.point.distance(s.point) <= c.scroll_px:
            s.dx += ev.dx
            s.dy += ev.dy
            s.last_t = ev.t
            return
        self._emit_scroll()
        self._scroll = _Scroll(ev.t, ev.point, ev.monitor, ev.dx, ev.dy, ev.t)

    # keyboard ------------------------------------------------------------------------------------------------
    def _on_key_down(self, ev: InputEvent) -> None:
        name = normalize_key(ev.key or "")
        if is_modifier(name):
            self._mods.add(name)
            return
        combo = (*order_modifiers(self._mods), name)
        if combo in self.config.stop_hotkeys:
            self.stop_requested = True
            if self.on_stop is not None:
                self.on_stop()
            return
        self._emit_pending()
        self._emit_scroll()
        if self._mods - {"shift", "alt_gr"}:
            self._emit_text()
            self._out.append(Action(ActionKind.HOTKEY, t=ev.t, keys=combo, monitor=ev.monitor))
            return
        ch = self._char_of(ev, name)
        if ch is not None:
            if not self._text:
                self._text_t = ev.t
                self._text_monitor = ev.monitor
            self._text.append(ch)
            self._text_last_t = ev.t
            return
        if name == "backspace" and self._text:
            self._text.pop()
            self._text_last_t = ev.t
            return
        self._emit_text()
        if "shift" in self._mods:
            self._out.append(Action(ActionKind.HOTKEY, t=ev.t, keys=combo, monitor=ev.monitor))
        else:
            self._out.append(Action(ActionKind.KEY, t=ev.t, keys=(name,), monitor=ev.monitor))

    def _char_of(self, ev: InputEvent, name: str) -> str | None:
        """The character a key produced, or None for a special key."""
        if name == "space":
            return " "
        if name in SPECIAL_KEYS:
            return None
        if ev.char is not None and len(ev.char) == 1 and ev.char.isprintable():
            return ev.char
        if len(name) == 1 and name.isprintable():
            return name.upper() if "shift" in self._mods else name
        return None

    def _on_key_up(self, ev: InputEvent) -> None:
        name = normalize_key(ev.key or "")
        if is_modifier(name):
            self._mods.discard(name)
