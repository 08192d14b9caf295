"""Helpers for the app's tests: drive the fake input devices and wait on the app's workers."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt

from rpa_vision.core.events import Button, EventKind, InputEvent
from rpa_vision.core.geometry import Point


def fake_click(rec: Any, p: Point) -> None:
    rec.emit(InputEvent(EventKind.MOVE, point=p))
    rec.emit(InputEvent(EventKind.PRESS, point=p, button=Button.LEFT))
    rec.emit(InputEvent(EventKind.RELEASE, point=p, button=Button.LEFT))


def fake_hotkey(rec: Any, *keys: str) -> None:
    for k in keys:
        rec.emit(InputEvent(EventKind.KEY_DOWN, key=k))
    for k in reversed(keys):
        rec.emit(InputEvent(EventKind.KEY_UP, key=k))


def record_through_app(window: Any, qtbot: Any, fakes: Any, name: str, points: list[Point]) -> Any:
    """Types the name, clicks Record, clicks at ``points`` on the fake input device, clicks Stop."""
    window.library.name_edit.setText(name)
    qtbot.mouseClick(window.library.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fakes.recorder.is_running, timeout=30000)
    time.sleep(0.25)  # the capture loop has frames from before the first click
    for p in points:
        fake_click(fakes.recorder, p)
        time.sleep(0.25)
    assert window.library.stop_button.isEnabled()
    with qtbot.waitSignal(window.record_worker.saved, timeout=10000) as blocker:
        qtbot.mouseClick(window.library.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.library.select(name), timeout=5000)
    return blocker.args[0]


def clicks(player: Any) -> list[tuple[float, float]]:
    """Where the fake player pressed the left button."""
    out: list[tuple[float, float]] = []
    pos: tuple[float, float] | None = None
    for c in player.calls:
        if c[0] == "move":
            pos = (float(c[1]), float(c[2]))
        elif c[0] == "button" and c[1] == "left" and c[2] and pos is not None:
            out.append(pos)
    return out
