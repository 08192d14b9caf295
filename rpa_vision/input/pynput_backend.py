"""pynput: listen to and drive the real mouse and keyboard (X11, Windows, macOS).

pynput is imported only inside functions: on X11 merely importing it opens a display
connection, and fails when there is none; that failure becomes ``DisplayUnavailableError``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from rpa_vision.capture.dpi import ensure_dpi_awareness
from rpa_vision.core.errors import DisplayUnavailableError, InputBackendError, RpaVisionError, ValidationError
from rpa_vision.core.events import Button, EventKind, InputEvent
from rpa_vision.core.geometry import Monitor, Point, monitor_at
from rpa_vision.core.logging import get_logger
from rpa_vision.input.base import EventCallback, InputPlayer, InputRecorder
from rpa_vision.input.injection import injecting, injection_active
from rpa_vision.input.keys import normalize_key

_log = get_logger(__name__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def display_missing() -> str | None:
    """Why there is no display for input on this platform, or None when one may exist."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return "Wayland without DISPLAY: pynput needs X11 (or XWayland with DISPLAY set)"
        return "no DISPLAY set (run under X11, or Xvfb for tests)"
    return None


def load_pynput() -> tuple[ModuleType, ModuleType]:
    """``(pynput.mouse, pynput.keyboard)``, or one clear error when they cannot work here."""
    why = display_missing()
    if why:
        raise DisplayUnavailableError(f"input backend pynput: {why}", backend="pynput")
    ensure_dpi_awareness()
    try:
        from pynput import keyboard, mouse
    except ImportError as exc:
        msg = _first_line(exc)
        if "not supported" in msg or "display" in msg.lower() or "X connection" in msg:
            raise DisplayUnavailableError(f"input backend pynput cannot reach the display: {msg}",
                                          backend="pynput") from exc
        raise InputBackendError(f"input backend pynput is not available: {msg}", backend="pynput") from exc
    return mouse, keyboard


# --- key names --------------------------------------------------------------------------------------------------


def key_name(key: Any) -> tuple[str, str | None]:
    """``(normalised name, produced character or None)`` of a pynput key."""
    name = getattr(key, "name", None)
    if name:  # a pynput Key enum member (Key.ctrl_l, Key.enter, ...)
        n = normalize_key(str(name))
        return n, (" " if n == "space" else None)
    char = getattr(key, "char", None)
    if char:
        if len(char) == 1 and ord(char) < 32:  # ctrl+letter on some platforms gives a control char
            letter = chr(ord(char) + 96)
            return letter, None
        return normalize_key(char), char
    vk = getattr(key, "vk", None)
    return (f"vk_{vk}" if vk is not None else "unknown"), None


def pynput_key(keyboard: ModuleType, name: str) -> Any:
    """The pynput key for a normalised name."""
    n = normalize_key(name)
    if len(n) == 1:
        return keyboard.KeyCode.from_char(n)
    member = getattr(keyboard.Key, n, None)
    if member is None:
        raise ValidationError(f"unknown key {name!r} for pynput", field="key", value=name)
    return member


_BUTTONS = {"left": Button.LEFT, "right": Button.RIGHT, "middle": Button.MIDDLE}


def _wait_ready(listener: Any, timeout: float) -> None:
    """Like pynput's ``wait()``, which blocks forever when the listener thread dies first."""
    deadline = time.monotonic() + timeout
    while not getattr(listener, "_ready", True):
        if not listener.is_alive():
            raise InputBackendError("the input listener stopped while starting (on X11: is the RECORD extension "
                                    "enabled?)", backend="pynput")
        if time.monotonic() > deadline:
            raise InputBackendError(f"the input listener did not start within {timeout:.0f} s", backend="pynput")
        time.sleep(0.01)


def _unblock_xorg(listener: Any) -> None:
    """Make an X11 listener's thread end now rather than at the next input event.

    pynput's X11 listener blocks inside XRecord; its own stop request is only buffered. Sending
    the disable request on the listener's control connection, flushed, releases it.
    """
    disp, ctx = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if disp is None or ctx is None:
        return
    try:
        disp.record_disable_context(ctx)
        disp.flush()
    except Exception as exc:  # the connection may already be closed; the thread then ends anyway
        _log.debug("unblocking the X11 listener: %s", exc)


# --- recorder -------------------------------------------------------------------------------------------------------


class PynputRecorder(InputRecorder):
    """Listens to the mouse and keyboard; events carry the monitor they happened on (key events:
    the monitor of the pointer's last known position).

    ``monitors`` (1..N, physical px) default to the screen's, read once at ``start`` through mss.
    Pointer motion is delivered only when ``moves=True`` (drags are recognised without it).
    Events this process injects (``rpa_vision.input.injection``) arrive flagged ``injected``.
    """

    def __init__(self, monitors: Sequence[Monitor] | None = None, *, moves: bool = True,
                 start_timeout_s: float = 10.0) -> None:
        self._monitors = list(monitors) if monitors is not None else None
        self.moves = moves
        self.start_timeout_s = start_timeout_s
        self._listeners: list[Any] = []
        self._callback: EventCallback | None = None
        self._lock = threading.Lock()
        self._keyboard: ModuleType | None = None
        self._mons: list[Monitor] = []
        self._last_monitor: Monitor | None = None  # where the pointer was last seen (for key events)

    def _monitor_list(self) -> list[Monitor]:
        if self._monitors is None:
            try:
                from rpa_vision.capture.mss_source import MssScreenSource

                with MssScreenSource() as src:
                    self._monitors = src.monitors()[1:]
            except RpaVisionError as exc:  # input still works without monitor facts; say so once
                _log.warning("recording without monitor information: %s", _first_line(exc))
                self._monitors = []
        return self._monitors

    def _deliver(self, ev: InputEvent) -> None:
        cb = self._callback
        if cb is None:
            return
        try:
            cb(ev)
        except Exception:  # a bug in the consumer must not silently kill the listener thread
            _log.exception("input event callback failed")

    def _point_event(self, kind: EventKind, x: float, y: float, injected: bool, **kw: Any) -> InputEvent:
        p = Point(float(x), float(y))
        mon = monitor_at(self._mons, p)
        self._last_monitor = mon
        return InputEvent(kind, time.monotonic(), point=p, monitor=mon,
                          injected=bool(injected) or injection_active(), **kw)

    def start(self, callback: EventCallback) -> None:
        with self._lock:
            if self._listeners:
                raise InputBackendError("the recorder is already running")
            mouse, keyboard = load_pynput()
            self._keyboard = keyboard
            self._mons = self._monitor_list()
            self._callback = callback

            def on_move(x: float, y: float, injected: bool = False) -> None:
                if self.moves:
                    self._deliver(self._point_event(EventKind.MOVE, x, y, injected))

            def on_click(x: float, y: float, button: Any, pressed: bool, injected: bool = False) -> None:
                b = _BUTTONS.get(getattr(button, "name", ""))
                if b is not None:
                    kind = EventKind.PRESS if pressed else EventKind.RELEASE
                    self._deliver(self._point_event(kind, x, y, injected, button=b))

            def on_scroll(x: float, y: float, dx: int, dy: int, injected: bool = False) -> None:
                self._deliver(self._point_event(EventKind.SCROLL, x, y, injected, dx=int(dx), dy=int(dy)))

            def key_event(kind: EventKind, key: Any, injected: bool) -> None:
                if key is None:
                    return
                name, char = key_name(key)
                self._deliver(InputEvent(kind, time.monotonic(), key=name, char=char, monitor=self._last_monitor,
                                         injected=bool(injected) or injection_active()))

            def on_press(key: Any, injected: bool = False) -> None:
                key_event(EventKind.KEY_DOWN, key, injected)

            def on_release(key: Any, injected: bool = False) -> None:
                key_event(EventKind.KEY_UP, key, injected)

            started: list[Any] = []
            try:
                ml = mouse.Listener(on_move=on_move, on_click=on_click, on_scroll=on_scroll)
                kl = keyboard.Listener(on_press=on_press, on_release=on_release)
                for li in (ml, kl):
                    li.start()
                    started.append(li)
                    _wait_ready(li, self.start_timeout_s)
            except Exception as exc:  # pynput raises platform-specific errors here
                self._callback = None
                for li in started:
                    li.stop()
                    _unblock_xorg(li)
                if isinstance(exc, InputBackendError):
                    raise
                raise InputBackendError(f"cannot listen to input: {_first_line(exc)}", backend="pynput") from exc
            self._listeners = [ml, kl]

    def stop(self) -> None:
        with self._lock:
            listeners, self._listeners = self._listeners, []
            self._callback = None
        for li in listeners:
            li.stop()
            _unblock_xorg(li)
        for li in listeners:
            if li is not threading.current_thread():
                li.join(2.0)

    @property
    def is_running(self) -> bool:
        return bool(self._listeners) and all(li.is_alive() for li in self._listeners)


# --- player --------------------------------------------------------------------------------------------------------


class PynputPlayer(InputPlayer):
    """Drives the mouse and keyboard through pynput controllers (physical px)."""

    def __init__(self, typing_interval_s: float = 0.0) -> None:
        mouse, keyboard = load_pynput()
        self._mouse_mod, self._kb_mod = mouse, keyboard
        try:
            self._mouse = mouse.Controller()
            self._kb = keyboard.Controller()
        except Exception as exc:  # platform-specific connection errors
            raise InputBackendError(f"cannot control input: {_first_line(exc)}", backend="pynput") from exc
        self.typing_interval_s = float(typing_interval_s)
        self._held_buttons: set[Button] = set()
        self._held_keys: set[str] = set()
        self._xtest: Any = None
        if sys.platform.startswith("linux") and hasattr(self._kb, "keyboard_mapping"):
            try:
                from rpa_vision.input.xtest import XTestKeys

                self._xtest = XTestKeys(self._kb)
            except Exception as exc:  # no XTEST: pynput's own (XSendEvent) typing is used
                _log.warning("XTEST unavailable, typing through pynput: %s", _first_line(exc))

    def position(self) -> Point:
        x, y = self._mouse.position
        return Point(float(x), float(y))

    def _move(self, p: Point) -> None:
        with injecting():
            self._mouse.position = p.as_int()

    def _button(self, button: Button, down: bool) -> None:
        b = getattr(self._mouse_mod.Button, button.value)
        with injecting():
            if down:
                self._mouse.press(b)
                self._held_buttons.add(button)
            else:
                self._mouse.release(b)
                self._held_buttons.discard(button)

    def _key(self, key: str, down: bool) -> None:
        k = pynput_key(self._kb_mod, key)
        with injecting():
            if not (len(key) == 1 and self._xtest is not None and self._xtest.key(key, down)):
                (self._kb.press if down else self._kb.release)(k)
            (self._held_keys.add if down else self._held_keys.discard)(key)

    def _type(self, text: str) -> None:
        with injecting():
            if self._xtest is None and self.typing_interval_s <= 0:
                self._kb.type(text)
                return
            for ch in text:
                if self._xtest is None or not self._xtest.type_char(ch):
                    self._kb.type(ch)
                if self.typing_interval_s > 0:
                    time.sleep(self.typing_interval_s)

    def _scroll(self, dx: int, dy: int) -> None:
        with injecting():
            self._mouse.scroll(dx, dy)

    def release_all(self) -> None:
        for b in list(self._held_buttons):
            self._button(b, False)
        for k in list(self._held_keys):
            self._key(k, False)
