"""The self-healing prompt: placement away from the candidates, its buttons and keys, and the
decision provider that blocks the replay thread until the person answers."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from rpa_vision.core.errors import ReplayAborted
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Box, Point
from rpa_vision.workflow.decisions import Decision, DecisionKind, DecisionRequest, Located
from tests.ui.conftest import screen_image
from ui.prompt import HealingPrompt, QtDecisionProvider, place_away

SCREEN = Box(0, 0, 1920, 1080)


def _request(cands: list[tuple[Box, float]], shot: np.ndarray | None = None) -> DecisionRequest:
    shot = screen_image(0) if shot is None else shot
    return DecisionRequest(
        workflow="demo", step_index=1, step_count=3,
        action=Action(ActionKind.CLICK, point=Point(245, 145), button=Button.LEFT),
        description="click 'OK'", reason="confidence 0.62 below 0.80",
        target_crop=shot[120:170, 190:300].copy(), screenshot=shot,
        candidates=tuple(Located(b, c) for b, c in cands), min_confidence=0.8,
    )


@pytest.mark.parametrize("boxes", [
    [Box(1700, 40, 1800, 80)],  # top right: the default corner is taken
    [Box(100, 100, 300, 140), Box(1600, 900, 1800, 960)],
    [Box(800, 400, 1100, 600)],  # centre
    [Box(1500, 0, 1920, 500), Box(0, 0, 400, 500)],  # both top corners
])
def test_place_away_does_not_cover_the_candidates(boxes: list[Box]) -> None:
    w, h = 700, 450
    x, y = place_away((w, h), SCREEN, boxes)
    win = Box(x, y, x + w, y + h)
    assert SCREEN.contains_box(win)
    assert all(win.intersection(b) is None for b in boxes)


def test_place_away_minimises_overlap_when_nothing_is_free() -> None:
    everywhere = [Box(0, 0, 1920, 1080)]
    x, y = place_away((700, 450), SCREEN, everywhere)
    assert SCREEN.contains_box(Box(x, y, x + 700, y + 450))
    small = [Box(0, 0, 1000, 1080)]  # only the right part is free
    x, y = place_away((700, 450), SCREEN, small)
    assert x >= 1000


def test_prompt_shows_candidates_and_confirm_button(qtbot: Any) -> None:
    dlg = HealingPrompt(_request([(Box(190, 120, 300, 170), 0.62), (Box(40, 120, 150, 170), 0.41)]))
    qtbot.addWidget(dlg)
    dlg.show()
    assert "step 2 of 3" in dlg.windowTitle()
    assert dlg.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert dlg.view.labels == ("#1 0.62", "#2 0.41")
    assert dlg.target_label.pixmap() is not None and not dlg.target_label.pixmap().isNull()
    with qtbot.waitSignal(dlg.answered) as sig:
        qtbot.mouseClick(dlg.confirm_button, Qt.MouseButton.LeftButton)
    assert sig.args[0].kind is DecisionKind.CONFIRM
    assert not dlg.isVisible()


@pytest.mark.parametrize("key,kind", [(Qt.Key.Key_Return, DecisionKind.CONFIRM),
                                      (Qt.Key.Key_Enter, DecisionKind.CONFIRM),
                                      (Qt.Key.Key_S, DecisionKind.SKIP), (Qt.Key.Key_Escape, DecisionKind.ABORT)])
def test_prompt_keyboard_shortcuts(qtbot: Any, key: Qt.Key, kind: DecisionKind) -> None:
    dlg = HealingPrompt(_request([(Box(190, 120, 300, 170), 0.62)]))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.activateWindow()
    with qtbot.waitSignal(dlg.answered) as sig:
        qtbot.keyClick(dlg, key)
    assert sig.args[0].kind is kind


def test_pick_by_keyboard_then_click_on_a_candidate_chooses_it(qtbot: Any) -> None:
    second = Box(40, 120, 150, 170)
    dlg = HealingPrompt(_request([(Box(190, 120, 300, 170), 0.62), (second, 0.41)]))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    qtbot.keyClick(dlg, Qt.Key.Key_P)
    assert dlg.view.pick_mode and "Click" in dlg.hint.text()
    with qtbot.waitSignal(dlg.answered) as sig:
        qtbot.mouseClick(dlg.view, Qt.MouseButton.LeftButton, pos=dlg.view.to_widget(Point(60, 150)))
    d = sig.args[0]
    assert d.kind is DecisionKind.CHOOSE and d.box == second


def test_click_outside_the_screenshot_picks_nothing(qtbot: Any) -> None:
    dlg = HealingPrompt(_request([(Box(190, 120, 300, 170), 0.62)]))
    qtbot.addWidget(dlg)
    dlg.resize(1200, 500)  # wide: bars left and right of the screenshot
    dlg.show()
    qtbot.mouseClick(dlg.pick_button, Qt.MouseButton.LeftButton)
    r = dlg.view.image_rect()
    outside = QPoint(2, dlg.view.height() // 2) if r.left() > 4 else QPoint(dlg.view.width() // 2, 2)
    assert dlg.view.to_image(outside) is None
    qtbot.mouseClick(dlg.view, Qt.MouseButton.LeftButton, pos=outside)
    assert dlg.decision is None


def test_no_candidates_means_no_confirm(qtbot: Any) -> None:
    dlg = HealingPrompt(_request([]))
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.confirm_button.isEnabled()
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    assert dlg.decision is None
    assert "No candidate" in dlg.cand_text.text()
    qtbot.mouseClick(dlg.skip_button, Qt.MouseButton.LeftButton)
    assert dlg.decision is not None and dlg.decision.kind is DecisionKind.SKIP


def test_prompt_window_avoids_the_candidates_on_screen(qtbot: Any) -> None:
    screen = QGuiApplication.primaryScreen()
    g = screen.geometry()
    shot = np.full((g.height(), g.width(), 3), 200, np.uint8)
    boxes = [Box(g.width() - 200, 10, g.width() - 20, 60), Box(10, g.height() - 60, 200, g.height() - 10)]
    dlg = HealingPrompt(_request([(b, 0.6) for b in boxes], shot))
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.place()
    r = dlg.geometry()
    win = Box(r.x(), r.y(), r.x() + r.width(), r.y() + r.height())
    assert all(win.intersection(b) is None for b in dlg.candidate_rects())


def test_provider_blocks_the_worker_until_answered(qtbot: Any) -> None:
    provider = QtDecisionProvider()
    result: dict[str, Any] = {}
    shown: list[HealingPrompt] = []
    provider.bridge.prompt_shown.connect(shown.append)

    def worker() -> None:
        result["decision"] = provider.decide(_request([(Box(190, 120, 300, 170), 0.62)]))
        result["thread"] = threading.current_thread().name

    t = threading.Thread(target=worker, name="replay-worker")
    t.start()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert t.is_alive(), "decide() returned before the person answered"
    qtbot.mouseClick(shown[0].skip_button, Qt.MouseButton.LeftButton)
    t.join(5)
    assert not t.is_alive()
    assert result["decision"].kind is DecisionKind.SKIP
    assert provider.history[0][1].kind is DecisionKind.SKIP
    provider.bridge.deleteLater()


def test_provider_cancel_aborts_a_waiting_question(qtbot: Any) -> None:
    provider = QtDecisionProvider()
    result: dict[str, Decision] = {}
    shown: list[HealingPrompt] = []
    provider.bridge.prompt_shown.connect(shown.append)
    t = threading.Thread(target=lambda: result.setdefault("d", provider.decide(_request([]))))
    t.start()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    provider.cancel()
    t.join(5)
    assert result["d"].kind is DecisionKind.ABORT
    qtbot.waitUntil(lambda: not shown[0].isVisible(), timeout=2000)
    assert provider.decide(_request([])).kind is DecisionKind.ABORT  # after a cancel: no more questions
    provider.bridge.deleteLater()


def test_provider_secrets(qtbot: Any) -> None:
    asked: list[tuple[str, str]] = []

    def asker(name: str) -> str | None:
        asked.append((name, threading.current_thread().name))
        return "s3cret" if name == "password" else None

    provider = QtDecisionProvider(secret_asker=asker)
    out: dict[str, Any] = {}

    def worker() -> None:
        out["value"] = provider.ask_secret("password")
        try:
            provider.ask_secret("other")
        except ReplayAborted as exc:
            out["error"] = str(exc)

    t = threading.Thread(target=worker, name="replay-worker")
    t.start()
    qtbot.waitUntil(lambda: not t.is_alive(), timeout=5000)
    assert out["value"] == "s3cret"
    assert "other" in out["error"]
    assert [n for n, _ in asked] == ["password", "other"]
    assert all(th == threading.main_thread().name for _, th in asked)  # asked on the GUI thread
    provider.bridge.deleteLater()
