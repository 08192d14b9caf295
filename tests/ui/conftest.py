"""Fixtures for the app's tests: the library's fakes at every boundary, and a leak check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.core.geometry import Box


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path) -> None:
    """QSettings (the remembered home folder) go to the test's temp dir, never the user's config."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture(autouse=True)
def _no_leaked_windows(qapp: Any) -> Iterator[None]:
    """After each test every top-level widget is gone (pytest-qt closes the ones given to qtbot)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    before = {id(w) for w in QApplication.topLevelWidgets()}
    yield
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    names = [f"{type(w).__name__}({w.windowTitle()!r})" for w in leaked]
    for w in leaked:  # do not let one leak fail every later test
        w.close()
        w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"top-level widgets leaked: {names}"


def screen_image(variant: int = 0, w: int = 640, h: int = 400) -> np.ndarray:
    """A small synthetic 'application': a title bar, three buttons, a text field (BGR)."""
    img = np.full((h, w, 3), 235, np.uint8)
    img[0:30] = (120, 80, 40)
    colours = [(60, 160, 60), (60, 60, 200), (200, 120, 40)]
    for i, c in enumerate(colours):
        x = 40 + i * 150 + (variant * 7 if i == 1 else 0)
        img[120:170, x:x + 110] = c
        img[140:150, x + 20:x + 90] = 255
    img[250:280, 40:600] = 255
    img[250:251, 40:600] = 100
    if variant:
        img[350:380, 40 + 40 * variant:120 + 40 * variant] = (20, 20, 20)
    return img


BUTTON_B = Box(190, 120, 300, 170)  # the second button in screen_image(0)


class ScriptedLocator:
    """A stand-in for rpa_vision.locate.Locator: returns the candidates a test sets."""

    def __init__(self) -> None:
        self.candidates: list[tuple[Box, float]] = []
        self.calls = 0

    def locate(self, spec: Any, frame: Any, top_k: int) -> list[Any]:
        from types import SimpleNamespace

        self.calls += 1
        return [SimpleNamespace(box=b, confidence=c, score=c, evidence={"test": True})
                for b, c in self.candidates[:top_k]]


@dataclass
class Fakes:
    images: list[np.ndarray]
    source: Any = None
    recorder: Any = None
    hotkeys: Any = None
    player: Any = None
    locator: ScriptedLocator = field(default_factory=ScriptedLocator)

    def backends(self, **kw: Any) -> Any:
        from rpa_vision.capture import FakeScreenSource
        from rpa_vision.input import FakeInputPlayer, FakeInputRecorder
        from ui.services import Backends

        def new_source() -> Any:  # each user (watching, recording, replay) gets its own, as with mss
            self.source = FakeScreenSource(self.images)
            return self.source

        self.recorder = FakeInputRecorder()
        self.hotkeys = FakeInputRecorder()
        self.player = FakeInputPlayer()
        opts: dict[str, Any] = dict(
            screen_source=new_source, input_recorder=lambda: self.recorder,
            hotkey_recorder=lambda: self.hotkeys, player=lambda: self.player, locator=self.locator,
            encoder=lambda name, home: _builtin(), tray=True, watch=False,
        )
        opts.update(kw)
        return Backends(**opts)


def _builtin() -> Any:
    from rpa_vision.embedding import create_encoder

    return create_encoder("builtin")


@pytest.fixture()
def fakes() -> Fakes:
    return Fakes([screen_image(0)])


@pytest.fixture()
def window(qtbot: Any, home: Path, fakes: Fakes) -> Iterator[Any]:
    from ui.main_window import MainWindow

    w = MainWindow(backends=fakes.backends())
    qtbot.addWidget(w, before_close_func=lambda widget: widget.shutdown())
    w.move(700, 0)  # off the fake screen's area, so recorded clicks are not on the app itself
    w.show()
    with qtbot.waitSignal(w.library.loaded, timeout=5000):
        pass
    yield w
    w.shutdown()
