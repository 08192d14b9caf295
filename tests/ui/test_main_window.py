"""The main window with the library's fakes: record, replay with the prompt, library operations,
settings, bad homes and files, global hotkeys, tray, live view and stats."""

from __future__ import annotations

import json
import logging
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.paths import Paths
from rpa_vision.core.settings import Settings, load_settings
from rpa_vision.workflow.store import WorkflowStore
from tests.ui.conftest import BUTTON_B, Fakes, screen_image
from tests.ui.helpers import clicks, fake_click, fake_hotkey, record_through_app

OTHER = Box(40, 120, 150, 170)


def _clicked_in(player: Any, box: Box) -> bool:
    """The fake player pressed exactly once, inside ``box`` (the replayer keeps the click's
    relative position inside the located element)."""
    pts = clicks(player)
    return len(pts) == 1 and box.contains(Point(*pts[0]))


def _replay(window: Any, qtbot: Any, name: str, dry_run: bool = False) -> None:
    assert window.library.select(name)
    button = window.library.dry_run_button if dry_run else window.library.replay_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.busy  # the workflow is read on a thread, then the replay worker starts
    qtbot.waitUntil(lambda: (window.replay_worker is not None and window.replay_panel.status == "running")
                    or window.last_report is not None, timeout=10000)


def _finish(window: Any, qtbot: Any) -> Any:
    qtbot.waitUntil(lambda: window.last_report is not None or window.replay_panel.status == "failed", timeout=15000)
    return window.last_report


def test_record_through_the_app_saves_a_workflow(window: Any, qtbot: Any, fakes: Fakes, home: Path) -> None:
    wf = record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    assert [s.action.kind.value for s in wf.steps] == ["click"]
    assert wf.steps[0].action.point == BUTTON_B.center
    loaded = WorkflowStore(Paths(home)).load("demo")
    assert len(loaded.steps) == 1
    entry = window.library.selected_entry()
    assert entry is not None and entry.name == "demo" and entry.steps == 1 and entry.thumb is not None
    assert not window.library.stop_button.isEnabled()
    assert window.tray is not None and any("Recording saved" in t for t, _ in window.tray.messages)


def test_record_refuses_bad_and_existing_names(window: Any, qtbot: Any, fakes: Fakes) -> None:
    window.library.name_edit.setText("bad/name")
    qtbot.mouseClick(window.library.record_button, Qt.MouseButton.LeftButton)
    assert window.record_worker is None
    assert window.library.error_label.isVisible() and window.library.error_label.text()
    record_through_app(window, qtbot, fakes, "twice", [BUTTON_B.center])
    window.library.name_edit.setText("twice")
    qtbot.mouseClick(window.library.record_button, Qt.MouseButton.LeftButton)
    assert "exists already" in window.library.error_label.text()


def test_confident_replay_acts_without_asking(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.97)]
    fakes.player.calls.clear()
    _replay(window, qtbot, "demo")
    report = _finish(window, qtbot)
    assert report.status == "ok", report.message
    assert window.decider.history == []
    assert _clicked_in(fakes.player, BUTTON_B)
    assert window.replay_panel.cell_text(0, 3) == "auto"
    assert window.replay_panel.cell_text(0, 5) == "ok"
    assert window.replay_panel.cell_text(0, 2) == "0.97"


def test_low_confidence_step_asks_and_confirm_acts(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.62), (OTHER, 0.40)]
    fakes.player.calls.clear()
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000) as shown:
        _replay(window, qtbot, "demo")
    dlg = shown.args[0]
    assert dlg.isVisible()
    assert dlg.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert [c.confidence for c in dlg.request.candidates] == [0.62, 0.40]
    assert clicks(fakes.player) == []  # nothing happens until the person answers
    qtbot.mouseClick(dlg.confirm_button, Qt.MouseButton.LeftButton)
    report = _finish(window, qtbot)
    assert report.status == "ok", report.message
    assert report.steps[0].decision == "confirmed"
    assert _clicked_in(fakes.player, BUTTON_B)
    assert window.replay_panel.cell_text(0, 3) == "confirmed"
    assert any("Replay finished" in t for t, _ in window.tray.messages)
    assert window.finetuner.tuner is not None
    assert [e.kind for e in window.finetuner.tuner.store.examples()] == ["confirmation"]


def test_pick_another_acts_on_the_clicked_element(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(OTHER, 0.55)]  # the locator is wrong; the person corrects it
    fakes.player.calls.clear()
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000) as shown:
        _replay(window, qtbot, "demo")
    dlg = shown.args[0]
    qtbot.mouseClick(dlg.pick_button, Qt.MouseButton.LeftButton)
    assert dlg.view.pick_mode
    target = dlg.view.to_widget(Point(250, 150))
    qtbot.mouseClick(dlg.view, Qt.MouseButton.LeftButton, pos=target)
    report = _finish(window, qtbot)
    assert report.steps[0].decision == "corrected"
    assert _clicked_in(fakes.player, Box(238, 138, 262, 162))  # the element picked on the screenshot
    assert not _clicked_in(fakes.player, OTHER)
    assert report.status == "ok"
    # the correction reached the app's fine-tuner (its example store), and its tab says so
    tuner = window.finetuner.tuner
    assert tuner is not None
    kinds = [(e.kind, e.context.get("workflow")) for e in tuner.store.examples()]
    assert ("correction", "demo") in kinds
    qtbot.waitUntil(lambda: "1 examples" in window.finetune_panel.status_label.text(), timeout=5000)
    window.refresh_stats()
    assert "1 examples" in window.stats_panel.text("finetune")


def test_skip_by_keyboard_and_abort_by_escape(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.5)]
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000) as shown:
        _replay(window, qtbot, "demo")
    qtbot.keyClick(shown.args[0], Qt.Key.Key_S)
    report = _finish(window, qtbot)
    assert report.steps[0].decision == "skipped"
    window.last_report = None
    fakes.player.calls.clear()
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000) as shown:
        _replay(window, qtbot, "demo")
    qtbot.keyClick(shown.args[0], Qt.Key.Key_Escape)
    report = _finish(window, qtbot)
    assert report.status == "aborted"
    assert clicks(fakes.player) == []
    assert window.replay_panel.status == "aborted"


def test_global_abort_hotkey_ends_a_waiting_replay(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.5)]
    assert window.hotkeys.available
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000):
        _replay(window, qtbot, "demo")
    # the keys arrive from the (fake) system-wide listener's thread, not from Qt
    t = threading.Thread(target=fake_hotkey, args=(fakes.hotkeys, "ctrl", "alt", "esc"))
    t.start()
    t.join()
    report = _finish(window, qtbot)
    assert report.status == "aborted"
    assert clicks(fakes.player) == []


def test_dry_run_never_acts(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.95)]
    fakes.player.calls.clear()
    _replay(window, qtbot, "demo", dry_run=True)
    report = _finish(window, qtbot)
    assert report.status == "ok"
    assert fakes.player.calls == []


def test_reports_are_written_to_the_home(window: Any, qtbot: Any, fakes: Fakes, home: Path) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.95)]
    _replay(window, qtbot, "demo")
    _finish(window, qtbot)
    qtbot.waitUntil(lambda: any((home / "reports").glob("demo-*.json")), timeout=5000)
    doc = json.loads(next((home / "reports").glob("demo-*.json")).read_text())
    assert doc["status"] == "ok" and doc["steps"][0]["decision"] == "auto"


def test_rename_delete_export_import_through_the_buttons(window: Any, qtbot: Any, fakes: Fakes, home: Path,
                                                         tmp_path: Path) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    lib = window.library
    store = WorkflowStore(Paths(home))
    lib.ask_text = lambda *a, **k: "renamed"
    with qtbot.waitSignal(lib.loaded, timeout=5000):
        qtbot.mouseClick(lib.rename_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lib.select("renamed"), timeout=5000)
    assert store.names() == ["renamed"]

    archive = tmp_path / "out.zip"
    lib.ask_save_file = lambda default: str(archive)
    with qtbot.waitSignal(lib.loaded, timeout=5000):
        qtbot.mouseClick(lib.export_button, Qt.MouseButton.LeftButton)
    assert zipfile.is_zipfile(archive)

    lib.ask_yes_no = lambda *a: True
    with qtbot.waitSignal(lib.loaded, timeout=5000):
        qtbot.mouseClick(lib.delete_button, Qt.MouseButton.LeftButton)
    assert store.names() == []
    assert lib.list.count() == 0

    lib.ask_open_file = lambda: str(archive)
    with qtbot.waitSignal(lib.loaded, timeout=5000):
        qtbot.mouseClick(lib.import_button, Qt.MouseButton.LeftButton)
    assert store.names() == ["renamed"]
    assert lib.list.count() == 1


def test_declined_delete_keeps_the_workflow(window: Any, qtbot: Any, fakes: Fakes, home: Path) -> None:
    record_through_app(window, qtbot, fakes, "keep", [BUTTON_B.center])
    window.library.ask_yes_no = lambda *a: False
    qtbot.mouseClick(window.library.delete_button, Qt.MouseButton.LeftButton)
    qtbot.wait(100)
    assert WorkflowStore(Paths(home)).names() == ["keep"]


def test_failed_import_is_reported(window: Any, qtbot: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    window.library.ask_open_file = lambda: str(bad)
    with qtbot.waitSignal(window.library.loaded, timeout=5000):
        qtbot.mouseClick(window.library.import_button, Qt.MouseButton.LeftButton)
    assert window.library.error_label.isVisible()
    assert window.library.error_label.text()


def test_broken_workflow_is_listed_with_its_reason_and_others_still_work(qtbot: Any, home: Path,
                                                                         fakes: Fakes) -> None:
    from ui.main_window import MainWindow

    broken = home / "workflows" / "broken"
    broken.mkdir(parents=True)
    (broken / "workflow.json").write_text("{ not json")
    w = MainWindow(backends=fakes.backends())
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    w.move(700, 0)
    w.show()
    qtbot.waitUntil(lambda: w.library.list.count() == 1, timeout=5000)
    record_through_app(w, qtbot, fakes, "good", [BUTTON_B.center])
    entries = {e.name: e for e in w.library.entries}
    assert entries["broken"].broken and "JSON" in entries["broken"].error
    assert not entries["good"].broken
    assert w.library.select("broken")
    assert not w.library.replay_button.isEnabled()
    assert "broken" in w.library.list.currentItem().text()
    assert w.library.select("good")
    assert w.library.replay_button.isEnabled()
    w.shutdown()


def test_read_only_home_opens_with_a_clear_message(qtbot: Any, tmp_path: Path, fakes: Fakes,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main_window import MainWindow

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("RPA_VISION_HOME", str(blocker / "home"))  # cannot be created, even by root
    w = MainWindow(backends=fakes.backends())
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    w.show()
    assert w.home_error
    assert w.home_banner.isVisible() and "cannot be written" in w.home_banner.text()
    w.library.name_edit.setText("x")
    qtbot.mouseClick(w.library.record_button, Qt.MouseButton.LeftButton)
    assert w.record_worker is None
    assert "not writable" in w.library.error_label.text()
    assert w.apply_settings(Settings(auto_confidence=0.9)) is False
    w.shutdown()


def test_corrupt_settings_are_replaced_by_defaults_and_kept(qtbot: Any, home: Path, fakes: Fakes) -> None:
    from ui.main_window import MainWindow

    home.mkdir(parents=True)
    (home / "settings.json").write_text("{{{")
    w = MainWindow(backends=fakes.backends())
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    assert w.settings == Settings()
    assert "defaults restored" in w.statusBar().currentMessage()
    assert list(home.glob("settings.json.bad-*"))
    w.shutdown()


def test_settings_dialog_saves_and_applies(window: Any, qtbot: Any, home: Path) -> None:
    dlg = window.settings_dialog()
    qtbot.addWidget(dlg)
    dlg.auto_confidence.setValue(0.95)
    dlg.capture_rate.setValue(1.0)
    dlg.encoder.setCurrentText("builtin")
    dlg.abort_hotkey.setText("ctrl+shift+q")
    dlg.ocr.setChecked(False)
    dlg.theme.setCurrentText("dark")
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert dlg.result_settings is not None
    assert window.apply_settings(dlg.result_settings, dlg.result_home)
    saved = load_settings(Paths(home)).settings
    assert (saved.auto_confidence, saved.capture_rate_hz, saved.encoder, saved.ocr, saved.theme) == \
        (0.95, 1.0, "builtin", False, "dark")
    assert window.watch.rate_hz == 1.0
    assert ("ctrl", "shift", "q") in window.hotkeys.combos
    window.apply_settings(Settings())  # back to the default look for later tests


def test_settings_dialog_refuses_invalid_values(window: Any, qtbot: Any) -> None:
    dlg = window.settings_dialog()
    qtbot.addWidget(dlg)
    dlg.min_confidence.setValue(0.9)
    dlg.auto_confidence.setValue(0.5)
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dlg.result_settings is None
    assert "min_confidence" in dlg.error_label.text()
    dlg.auto_confidence.setValue(0.9)
    dlg.secret_hotkey.setText(dlg.stop_hotkey.text())
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dlg.result_settings is None and "secret" in dlg.error_label.text()


def test_changing_the_home_folder_is_remembered(window: Any, qtbot: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.services import resolve_home, saved_home

    new_home = tmp_path / "other-home"
    assert window.apply_settings(window.settings, new_home)
    assert window.paths.home == new_home.resolve()
    assert (new_home / "settings.json").exists()
    assert saved_home() == new_home.resolve()
    monkeypatch.delenv("RPA_VISION_HOME")
    assert resolve_home(None).home == new_home.resolve()


def test_live_view_regions_match_and_stats(qtbot: Any, home: Path) -> None:
    from ui.main_window import MainWindow

    fakes = Fakes([screen_image(0), screen_image(1)])
    w = MainWindow(backends=fakes.backends(watch=True))
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    w.show()
    qtbot.waitUntil(lambda: w.live_view.frames_shown >= 2, timeout=20000)
    assert w.live_view.regions, "the perceiver found no region on a screen with buttons"
    assert not w.live_view.show_regions
    qtbot.mouseClick(w.roi_toggle, Qt.MouseButton.LeftButton, pos=QPoint(8, w.roi_toggle.height() // 2))
    assert w.live_view.show_regions
    w.refresh_stats()
    assert "fps" in w.stats_panel.text("capture")
    assert w.stats_panel.text("perception") == "ok"
    assert "ms" in w.stats_panel.text("latency")
    assert "builtin" in w.stats_panel.text("encoder")
    assert "recorded screens" in w.stats_panel.text("index")
    assert w.match_panel.best_label.text()  # empty library: says there is nothing to compare with
    w.shutdown()


def test_watch_mode_offers_a_known_workflow_without_taking_focus(qtbot: Any, home: Path) -> None:
    from ui.main_window import MainWindow

    fakes = Fakes([screen_image(0)])
    w = MainWindow(backends=fakes.backends(watch=False))
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    w.move(700, 0)
    w.show()
    record_through_app(w, qtbot, fakes, "demo", [BUTTON_B.center])
    focus_before = QApplication.focusWidget()
    assert not w.watch.running
    qtbot.mouseClick(w.toolbar.widgetForAction(w.watch_action), Qt.MouseButton.LeftButton)
    assert w.watch.running
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=20000)
    assert w.banner.workflow == "demo"
    assert w.match_panel.result is not None and w.match_panel.result.best.workflow == "demo"
    assert w.match_panel.confidence_bar.value() >= 90
    assert QApplication.focusWidget() is focus_before
    assert not w.banner.isWindow()
    assert any("start of demo" in m for _, m in w.tray.messages)
    fakes.locator.candidates = [(BUTTON_B, 0.97)]
    qtbot.mouseClick(w.banner.run_button, Qt.MouseButton.LeftButton)
    report = _finish(w, qtbot)
    assert report.workflow == "demo" and report.status == "ok"
    w.shutdown()


def test_dismissed_suggestion_is_not_repeated(window: Any, qtbot: Any, fakes: Fakes) -> None:
    from ui.matching import MatchResult, StepMatch

    result = MatchResult((StepMatch("demo", 0, 2, 0.99),), 0.5, 2)
    window._on_match(result)
    assert window.banner.isVisible()
    qtbot.mouseClick(window.banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    window._on_match(result)
    assert not window.banner.isVisible()
    window._on_match(MatchResult((StepMatch("demo", 1, 2, 0.99),), 0.5, 2))  # not the start: no offer
    assert not window.banner.isVisible()


def test_tray_menu_controls_replay_and_shows_state(window: Any, qtbot: Any, fakes: Fakes) -> None:
    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    tray = window.tray
    assert tray.state_action.text() == "Idle"
    fakes.locator.candidates = [(BUTTON_B, 0.5)]
    with qtbot.waitSignal(window.decider.bridge.prompt_shown, timeout=10000):
        tray.replay_action.trigger()
    assert tray.state_action.text() == "Replaying demo"
    assert tray.stop_action.isEnabled() and not tray.record_action.isEnabled()
    tray.stop_action.trigger()
    report = _finish(window, qtbot)
    assert report.status == "aborted"
    assert any(t.startswith("Replay aborted") for t, _ in tray.messages)
    assert tray.state_action.text() == "Idle"


def test_log_panel_shows_records_from_worker_threads(window: Any, qtbot: Any) -> None:
    logger = logging.getLogger("rpa_vision.test_thread")

    def work() -> None:
        logger.warning("hello from a worker thread")

    t = threading.Thread(target=work)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "hello from a worker thread" in window.log_panel.text(), timeout=3000)
    window.log_panel.level.setCurrentIndex(3)  # errors only
    logger.warning("should be filtered")
    qtbot.wait(50)
    assert "should be filtered" not in window.log_panel.text()


def test_settings_and_home_survive_a_restart(window: Any, qtbot: Any, fakes: Fakes, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds, capture rate, encoder, hotkeys and the home folder chosen in one run are what the
    next run starts with."""
    from ui.main_window import MainWindow

    new_home = tmp_path / "chosen-home"
    chosen = window.settings.updated(auto_confidence=0.9, min_confidence=0.5, capture_rate_hz=0.5,
                                     encoder="builtin", stop_hotkey="ctrl+shift+s", abort_hotkey="ctrl+shift+a")
    assert window.apply_settings(chosen, new_home)
    window.close()  # the first run ends
    monkeypatch.delenv("RPA_VISION_HOME")
    w = MainWindow(backends=fakes.backends())
    qtbot.addWidget(w, before_close_func=lambda widget: widget.shutdown())
    assert w.paths.home == new_home.resolve()
    assert w.settings == chosen
    assert w.watch.rate_hz == 0.5
    assert ("ctrl", "shift", "a") in w.hotkeys.combos and ("ctrl", "shift", "s") in w.hotkeys.combos
    w.shutdown()


def test_global_stop_hotkey_ends_a_recording(window: Any, qtbot: Any, fakes: Fakes, home: Path) -> None:
    """The app's own system-wide listener (not the recorder's) stops and saves the recording."""
    window.library.name_edit.setText("by-hotkey")
    qtbot.mouseClick(window.library.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fakes.recorder.is_running, timeout=30000)
    fake_click(fakes.recorder, BUTTON_B.center)
    time.sleep(0.25)
    with qtbot.waitSignal(window.record_worker.saved, timeout=10000):
        t = threading.Thread(target=fake_hotkey, args=(fakes.hotkeys, "ctrl", "alt", "esc"))
        t.start()
        t.join()
    assert WorkflowStore(Paths(home)).names() == ["by-hotkey"]
    assert len(WorkflowStore(Paths(home)).load("by-hotkey").steps) == 1


def test_replay_of_a_workflow_that_cannot_be_read_reports_it_and_frees_the_app(window: Any, qtbot: Any) -> None:
    window.start_replay("no-such-workflow", False)
    assert window.busy
    qtbot.waitUntil(lambda: not window.busy, timeout=10000)
    assert window.replay_worker is None
    assert "Cannot replay no-such-workflow" in window.library.error_label.text()
    assert window.library.replay_button.isEnabled() or window.library.selected_entry() is None


def test_failed_replay_is_notified_in_the_tray_and_frees_the_app(qtbot: Any, home: Path, fakes: Fakes) -> None:
    """The input device cannot be opened: the replay fails with the reason, the tray says so."""
    from rpa_vision.core.errors import InputBackendError
    from ui.main_window import MainWindow

    def no_player() -> Any:
        raise InputBackendError("no input device here")

    w = MainWindow(backends=fakes.backends(player=no_player))
    qtbot.addWidget(w, before_close_func=lambda widget: widget.shutdown())
    w.move(700, 0)
    w.show()
    record_through_app(w, qtbot, fakes, "demo", [BUTTON_B.center])
    fakes.locator.candidates = [(BUTTON_B, 0.95)]
    w.start_replay("demo", False)
    qtbot.waitUntil(lambda: w.replay_panel.status == "failed", timeout=15000)
    assert not w.busy and w.tray is not None
    assert any(t == "Replay failed" and "no input device here" in m for t, m in w.tray.messages)
    assert w.tray.state_action.text() == "Idle"
    w.shutdown()


def test_finished_replays_and_recordings_let_go_of_their_frames(window: Any, qtbot: Any, fakes: Fakes) -> None:
    """A finished worker drops its replayer / recording session (each holds screen frames), so replay
    after replay the app does not grow."""
    import gc
    import weakref

    record_through_app(window, qtbot, fakes, "demo", [BUTTON_B.center])
    qtbot.waitUntil(lambda: window.record_worker.session is None, timeout=5000)
    fakes.locator.candidates = [(BUTTON_B, 0.95)]
    _replay(window, qtbot, "demo")
    _finish(window, qtbot)
    first = window.replay_worker
    qtbot.waitUntil(lambda: first.replayer is None, timeout=5000)
    window.last_report = None
    _replay(window, qtbot, "demo")
    replayer = weakref.ref(window.replay_worker.replayer) if window.replay_worker.replayer is not None else None
    _finish(window, qtbot)
    qtbot.waitUntil(lambda: window.replay_worker.replayer is None, timeout=5000)
    gc.collect()
    assert replayer is None or replayer() is None
