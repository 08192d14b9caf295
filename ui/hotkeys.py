"""Global hotkeys (stop recording, abort replay) that work whatever window has the focus.

They listen through the library's input recorder (pynput on a real desktop, a fake in tests),
not through Qt shortcuts, which only fire while the app has the focus. Key events arrive on the
listener thread; ``pressed`` is a signal, so the window handles them on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.events import EventKind, InputEvent
from rpa_vision.core.logging import get_logger

log = get_logger("ui.hotkeys")


class GlobalHotkeys(QObject):
    """``GlobalHotkeys({"stop": "ctrl+alt+esc", "abort": "pause"})``; ``pressed(action)`` on a match."""

    pressed = Signal(str)

    def __init__(self, hotkeys: Mapping[str, str], recorder_factory: Callable[[], Any] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = recorder_factory
        self._recorder: Any = None
        self._held: set[str] = set()
        self.available = False
        self.reason = "not started"
        self.combos: dict[tuple[str, ...], list[str]] = {}
        self.set_hotkeys(hotkeys)

    def set_hotkeys(self, hotkeys: Mapping[str, str]) -> None:
        from rpa_vision.input.keys import parse_hotkey

        combos: dict[tuple[str, ...], list[str]] = {}
        for action, text in hotkeys.items():
            combos.setdefault(parse_hotkey(text), []).append(action)
        self.combos = combos

    def start(self) -> bool:
        """Start listening; False (with ``reason``) when there is no input listener here."""
        if self._recorder is not None:
            return True
        try:
            if self._factory is not None:
                rec = self._factory()
            else:
                from rpa_vision.input import create_input_recorder

                rec = create_input_recorder("pynput")
            rec.start(self._on_event)
        except (ImportError, RpaVisionError) as exc:
            self.available, self.reason = False, str(exc)
            log.warning("global hotkeys are not available (%s); use the app's buttons or tray", exc)
            return False
        self._recorder = rec
        self.available, self.reason = True, "listening"
        return True

    def stop(self) -> None:
        rec, self._recorder = self._recorder, None
        if rec is not None:
            try:
                rec.stop()
            except RpaVisionError as exc:
                log.warning("stopping the hotkey listener: %s", exc)
        self.available = False
        self.reason = "stopped"

    def _on_event(self, ev: InputEvent) -> None:
        if ev.key is None or ev.injected:
            return
        from rpa_vision.input.keys import normalize_key

        try:
            key = normalize_key(ev.key)
        except RpaVisionError:
            return
        if ev.kind is EventKind.KEY_UP:
            self._held.discard(key)
            return
        if ev.kind is not EventKind.KEY_DOWN:
            return
        self._held.add(key)
        for combo, actions in self.combos.items():
            if key in combo and set(combo) <= self._held:
                for action in actions:
                    try:
                        self.pressed.emit(action)
                    except RuntimeError:  # the window is gone; the listener keeps running harmlessly
                        return
