"""The main window: live view, state match, library, replay progress, stats, log, settings, tray.

Every slow thing (capture, perception, matching, recording, replay, library I/O) runs on a
worker thread; this window only reacts to their signals.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from rpa_vision import __version__
from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.geometry import Box
from rpa_vision.core.logging import get_logger
from rpa_vision.core.settings import Settings, load_settings, save_settings
from rpa_vision.workflow.store import WorkflowStore
from ui.finetune_panel import FineTunePanel
from ui.finetune_service import FineTuneService
from ui.hotkeys import GlobalHotkeys
from ui.library_panel import LibraryPanel
from ui.live_view import LiveView
from ui.log_panel import LogPanel
from ui.match_panel import MatchPanel
from ui.matching import LibraryMatcher, MatchResult
from ui.prompt import HealingPrompt, QtDecisionProvider
from ui.replay_panel import ReplayPanel
from ui.services import (
    LOCATOR_ENCODER,
    AppPerformer,
    Backends,
    SharedEncoders,
    build_recording,
    build_replay,
    check_home_writable,
    drop_steps_inside,
    remember_home,
    resolve_home,
)
from ui.settings_dialog import SettingsDialog
from ui.stats_panel import StatsPanel
from ui.tasks import BackgroundTask, run_in_background
from ui.theme import apply_theme
from ui.tray import TrayController
from ui.workers import Preview, RecordWorker, ReplayWorker, WatchWorker

log = get_logger("ui.main_window")

SUGGEST_COOLDOWN_S = 300.0  # a dismissed offer is not repeated for this long
SUGGEST_MARGIN = 0.03  # how much better than any other workflow the start must match


class SuggestionBanner(QFrame):
    """A quiet, non-modal offer inside the window: never a dialog, never takes the focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("SuggestionBanner { background: #fff6d5; border: 1px solid #e0c060; }")
        self.label = QLabel("", self)
        self.run_button = QPushButton("Run it", self)
        self.dismiss_button = QPushButton("Not now", self)
        for b in (self.run_button, self.dismiss_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay = QHBoxLayout(self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.run_button)
        lay.addWidget(self.dismiss_button)
        self.workflow = ""
        self.hide()


class MainWindow(QMainWindow):
    def __init__(self, home: str | None = None, *, backends: Backends | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"RPA Vision {__version__}")
        self.backends = backends or Backends()
        self.paths = resolve_home(home)
        self.home_error = check_home_writable(self.paths)
        loaded = load_settings(self.paths)
        self.settings: Settings = loaded.settings
        self.store = WorkflowStore(self.paths)
        self.matcher = LibraryMatcher(self.store)
        self.decider = QtDecisionProvider(self)
        self.encoders = SharedEncoders(self.backends)
        self.finetuner = FineTuneService(self.paths, self._tuning_encoder, self,
                                         child_encoder=self._training_encoder())
        self.replay_worker: ReplayWorker | None = None
        self.record_worker: RecordWorker | None = None
        self.performer: AppPerformer | None = None
        self.last_report: Any = None
        self.last_recorded: Any = None
        self._dismissed: dict[str, float] = {}
        self._closing = False
        self._recording = False  # from the start of a session until its result arrived
        self._replaying = False
        self._loading = ""  # the workflow being read for a replay

        # widgets ----------------------------------------------------------------------------
        self.live_view = LiveView(self)
        self.roi_toggle = QCheckBox("Show regions (ROI)", self)
        self.roi_toggle.toggled.connect(self.live_view.set_show_regions)
        self.match_panel = MatchPanel(self)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.live_view, 1)
        ll.addWidget(self.roi_toggle)
        ll.addWidget(self.match_panel)

        self.library = LibraryPanel(self.store, self)
        self.replay_panel = ReplayPanel(self)
        self.stats_panel = StatsPanel(self)
        self.log_panel = LogPanel(self)
        self.finetune_panel = FineTunePanel(self.finetuner, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.library, "Library")
        self.tabs.addTab(self.replay_panel, "Replay")
        self.tabs.addTab(self.stats_panel, "Stats")
        self.tabs.addTab(self.finetune_panel, "Fine-tuner")
        self.tabs.addTab(self.log_panel, "Log")

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        self.home_banner = QLabel("", self)
        self.home_banner.setWordWrap(True)
        self.home_banner.setStyleSheet("background: #fbe3e3; color: #8a1f1f; padding: 6px;")
        self.home_banner.hide()
        self.banner = SuggestionBanner(self)
        central = QWidget(self)
        cl = QVBoxLayout(central)
        cl.addWidget(self.home_banner)
        cl.addWidget(self.banner)
        cl.addWidget(split, 1)
        self.setCentralWidget(central)
        self.resize(1280, 800)

        self.settings_action = QAction("Settings...", self)
        self.settings_action.triggered.connect(self.open_settings)
        self.watch_action = QAction("Watch the screen", self)
        self.watch_action.setCheckable(True)
        self.toolbar = self.addToolBar("Main")
        self.toolbar.addAction(self.settings_action)
        self.toolbar.addAction(self.watch_action)

        # wiring -----------------------------------------------------------------------------
        self.library.record_requested.connect(self.start_recording)
        self.library.stop_requested.connect(self.stop_all)
        self.library.replay_requested.connect(self.start_replay)
        self.library.changed.connect(self._refresh_matcher)
        self.library.message.connect(self.show_message)
        self.replay_panel.stop_button.clicked.connect(self.stop_all)
        self.banner.run_button.clicked.connect(self._run_suggestion)
        self.banner.dismiss_button.clicked.connect(self._dismiss_suggestion)
        self.decider.bridge.prompt_shown.connect(self._prompt_shown)
        self.finetuner.message.connect(self.show_message)
        self.finetuner.adapter_changed.connect(self._refresh_matcher)

        self.tray: TrayController | None = TrayController(self) if self.backends.tray else None
        if self.tray is not None:
            self.tray.record_requested.connect(self._tray_record)
            self.tray.replay_requested.connect(self._tray_replay)
            self.tray.stop_requested.connect(self.stop_all)
            self.tray.show_requested.connect(self._show_from_tray)
            self.tray.set_state("Idle")

        self.hotkeys = GlobalHotkeys(self._hotkey_map(), self.backends.hotkey_recorder, self)
        self.hotkeys.pressed.connect(self._hotkey)
        if self.backends.global_hotkeys:
            self.hotkeys.start()

        self.watch = self._make_watch()
        self.live_view.resized.connect(self._live_view_resized)
        self.watch_action.setChecked(self.backends.watch)
        self.watch_action.toggled.connect(self.set_watching)

        self.stats_timer = QTimer(self)
        self.stats_timer.setInterval(1000)
        self.stats_timer.timeout.connect(self.refresh_stats)
        self.stats_timer.start()

        apply_theme(self.settings.theme)
        if self.home_error:
            self._show_home_error()
        if loaded.warning:
            self.show_message(f"Settings: {loaded.warning}")
        self.library.refresh()
        if self.backends.finetune:
            self.finetuner.start()
        else:
            self.finetuner.state = "off"
        if self.backends.watch:
            self.set_watching(True)

    # helpers ------------------------------------------------------------------------------------
    def _hotkey_map(self) -> dict[str, str]:
        return {"stop": self.settings.stop_hotkey, "abort": self.settings.abort_hotkey}

    def _encoder(self) -> object:
        """The encoder the settings name (shared by the watcher and the fine-tuner; any thread)."""
        return self.encoders.get(self.settings.encoder, self.paths.home)

    def _tuning_encoder(self) -> object:
        """The encoder the fine-tuner adapts: the one replays locate elements with (their Locator
        follows its adapter); an encoder object handed in (tests, demos) is used as is."""
        if self.backends.encoder is not None:
            return self._encoder()
        return self.encoders.get(LOCATOR_ENCODER, self.paths.home)

    def _training_encoder(self) -> str | None:
        """Train in a separate process with the replays' encoder; in-process only for an encoder
        object handed in (tests, demos), which another process could not rebuild."""
        return None if self.backends.encoder is not None else LOCATOR_ENCODER

    def _make_watch(self) -> WatchWorker:
        w = WatchWorker(self.backends.make_source, self.matcher, rate_hz=self.settings.capture_rate_hz,
                        encoder_factory=self._encoder, paths=self.paths, parent=self)
        w.preview_max_wh = (max(64, self.live_view.width()), max(36, self.live_view.height()))
        w.preview.connect(self._on_preview)
        w.matched.connect(self._on_match)
        w.status.connect(self.show_message)
        return w

    def _show_home_error(self) -> None:
        self.home_banner.setText(f"The home folder cannot be written: {self.home_error}. Recording, healing and "
                                 "saving settings will fail; choose another folder in Settings.")
        self.home_banner.show()
        self.show_message(f"Home folder not writable: {self.home_error}")

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)
        log.info("%s", text)

    @property
    def busy(self) -> bool:
        return self._recording or self._replaying

    def _set_state(self, text: str, *, recording: bool = False, replaying: bool = False) -> None:
        if self.tray is not None:
            self.tray.set_state(text, recording=recording, replaying=replaying)

    def _notify(self, title: str, text: str, error: bool = False) -> None:
        self.show_message(f"{title}: {text}")
        if self.tray is not None:
            self.tray.notify(title, text, error=error)

    # watching -----------------------------------------------------------------------------------
    @Slot(bool)
    def set_watching(self, on: bool) -> None:
        if on and not self.watch.running:
            self.live_view.set_message("Starting the screen capture...")
            self.watch.start()
        elif not on and self.watch.running:
            self.watch.stop()
            self.live_view.set_message("Not watching the screen.")

    @Slot(int, int)
    def _live_view_resized(self, w: int, h: int) -> None:
        self.watch.preview_max_wh = (max(64, w), max(36, h))

    @Slot(object)
    def _on_preview(self, p: Preview) -> None:
        self.live_view.set_frame(p.image, p.full_wh, p.regions, rgb=True)

    @Slot(object)
    def _on_match(self, result: MatchResult) -> None:
        self.match_panel.show_result(result)
        self._maybe_suggest(result)

    def _maybe_suggest(self, result: MatchResult) -> None:
        best = result.best
        if best is None or not self.settings.watch or self.busy:
            return
        if best.step_index != 0 or best.confidence < self.settings.suggest_confidence:
            return
        rival = max((m.confidence for m in result.matches if m.workflow != best.workflow), default=0.0)
        if best.confidence - rival < SUGGEST_MARGIN:  # another workflow looks just as likely: stay quiet
            return
        if best.workflow == self.banner.workflow and self.banner.isVisible():
            return
        if time.monotonic() - self._dismissed.get(best.workflow, -1e9) < SUGGEST_COOLDOWN_S:
            return
        self.banner.workflow = best.workflow
        self.banner.label.setText(f"This screen looks like the start of <b>{best.workflow}</b> "
                                  f"({best.confidence:.0%} sure). Run the rest of it?")
        self.banner.show()
        self.statusBar().showMessage(f"Suggestion: run {best.workflow}?", 15000)
        if self.tray is not None:
            self.tray.notify("RPA Vision", f"This looks like the start of {best.workflow}. Open the app to run it.")

    @Slot()
    def _run_suggestion(self) -> None:
        name = self.banner.workflow
        self.banner.hide()
        if name:
            self.start_replay(name, False)

    @Slot()
    def _dismiss_suggestion(self) -> None:
        self._dismissed[self.banner.workflow] = time.monotonic()
        self.banner.hide()

    @Slot()
    def _refresh_matcher(self) -> None:
        matcher = self.matcher
        run_in_background(self, matcher.refresh, self._matcher_refreshed, self.show_message, "matcher")

    @Slot(object)
    def _matcher_refreshed(self, n: object) -> None:
        log.info("state matcher: %s recorded screens", n)

    # stats --------------------------------------------------------------------------------------
    @Slot()
    def refresh_stats(self) -> None:
        self.stats_panel.show_stats(self.watch.stats(), self.finetuner.status_line())

    # recording ------------------------------------------------------------------------------------
    def _own_rects(self) -> list[Box]:
        """This window's frame in physical desktop pixels (clicks there are not part of a recording)."""
        g = self.frameGeometry()
        screen = self.screen() or QGuiApplication.primaryScreen()
        s = screen.devicePixelRatio() if screen is not None else 1.0
        return [Box(g.x() * s, g.y() * s, (g.x() + g.width()) * s, (g.y() + g.height()) * s)]

    @Slot(str)
    def start_recording(self, name: str) -> None:
        if self.busy:
            self.show_message("A recording or replay is already running.")
            return
        if self.home_error:
            self.library.show_error(f"Cannot record: the home folder is not writable ({self.home_error}).")
            return
        settings, backends, store = self.settings, self.backends, self.store
        rects = self._own_rects()

        def save(rec: Any) -> tuple[Any, Any]:
            wf, images = rec.finish()
            wf, images = drop_steps_inside(wf, images, rects + self._own_rects_safe())
            if not wf.steps:
                return wf, None
            return wf, store.save(wf, images)

        self._recording = True
        if self.record_worker is not None:
            self.record_worker.deleteLater()
        self.record_worker = RecordWorker(lambda: build_recording(name, settings, backends), save, self)
        self.record_worker.started.connect(self._recording_started)
        self.record_worker.step.connect(self._recorded_step)
        self.record_worker.saved.connect(self._recording_saved)
        self.record_worker.failed.connect(self._recording_failed)
        self.library.set_busy(True)
        self.library.set_recording(True)
        self._recording_name = name
        self._recorded_steps = 0
        self.record_worker.start()
        self._set_state(f"Recording {name}", recording=True)

    def _own_rects_safe(self) -> list[Box]:
        return self._last_rects if hasattr(self, "_last_rects") else []

    @Slot()
    def _recording_started(self) -> None:
        self.show_message(f"Recording {self._recording_name}: work as usual; stop with {self.settings.stop_hotkey} "
                          "or the Stop button.")

    @Slot(object)
    def _recorded_step(self, step: Any) -> None:
        self._recorded_steps += 1
        self.statusBar().showMessage(f"Recording {self._recording_name}: {self._recorded_steps} steps "
                                     f"(last: {step.describe()})")

    @Slot(object, object)
    def _recording_saved(self, wf: Any, folder: Any) -> None:
        self._recording = False
        self._release(self.record_worker)
        self.library.set_recording(False)
        self.library.set_busy(False)
        self.last_recorded = wf
        self._set_state("Idle")
        if folder is None:
            self._notify("Recording", f"{wf.name}: nothing was recorded, nothing saved.")
        else:
            self._notify("Recording saved", f"{wf.name}: {len(wf.steps)} steps in {folder}")
            self.library.name_edit.clear()
        self.library.refresh()
        self._refresh_matcher()

    @Slot(str)
    def _recording_failed(self, msg: str) -> None:
        self._recording = False
        self._release(self.record_worker)
        self.library.set_recording(False)
        self.library.set_busy(False)
        self.library.show_error(msg)
        self._set_state("Idle")
        self._notify("Recording failed", msg, error=True)

    # replay ---------------------------------------------------------------------------------------
    @Slot(str, bool)
    def start_replay(self, name: str, dry_run: bool = False) -> None:
        if self.busy:
            self.show_message("A recording or replay is already running.")
            return
        self.banner.hide()
        self._replaying = True  # busy from now: the workflow is read on a thread first
        self.library.set_busy(True)
        store = self.store
        self._loading = name
        run_in_background(self, lambda: (name, dry_run, store.load(name)), self._replay_loaded,
                          self._replay_not_loaded, "load-workflow")

    @Slot(str)
    def _replay_not_loaded(self, msg: str) -> None:
        self._replaying = False
        self.library.set_busy(False)
        self.library.show_error(f"Cannot replay {self._loading}: {msg}")

    @Slot(object)
    def _replay_loaded(self, loaded: tuple[str, bool, Any]) -> None:
        name, dry_run, wf = loaded
        if self._closing or not self._replaying:  # closed or stopped while the workflow was read
            self._replaying = False
            self.library.set_busy(False)
            return
        self.decider.reset()
        self.performer = None
        paths, settings, backends, decider = self.paths, self.settings, self.backends, self.decider
        feedback = self.finetuner.feedback()

        def keep_performer(p: AppPerformer) -> None:
            self.performer = p

        def build(observer: Any) -> Any:
            return build_replay(name, paths, settings, backends, decider, observer, dry_run, keep_performer,
                                feedback)

        if self.replay_worker is not None:
            self.replay_worker.deleteLater()
        self.replay_worker = ReplayWorker(build, self)
        self.replay_worker.progress.connect(self.replay_panel.on_event)
        self.replay_worker.finished.connect(self._replay_finished)
        self.replay_worker.failed.connect(self._replay_failed)
        self.replay_panel.begin(name, len(wf.steps), dry_run)
        self.tabs.setCurrentWidget(self.replay_panel)
        self.replay_worker.start()
        self._set_state(f"Replaying {name}", replaying=True)
        self.show_message(f"Replaying {name}" + (" (dry run)" if dry_run else "")
                          + f"; abort with {self.settings.abort_hotkey}")

    @Slot(object)
    def _replay_finished(self, report: Any) -> None:
        self._replaying = False
        self._close_performer()
        self._release(self.replay_worker)
        self.last_report = report
        self.library.set_busy(False)
        self.replay_panel.finish(report.status, report.message)
        self._set_state("Idle")
        if not self.home_error:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = self.paths.reports / f"{report.workflow}-{stamp}.json"
            run_in_background(self, lambda: (report.write(path), str(path))[1], self._report_saved,
                              self.show_message, "report")
        if report.status == "ok":
            self._notify("Replay finished", f"{report.workflow}: {report.summary()}")
        else:
            self._notify(f"Replay {report.status}", f"{report.workflow}: {report.message}", error=True)
        self._refresh_matcher()

    def _release(self, worker: ReplayWorker | RecordWorker | None) -> None:
        """A finished worker lets go of its replayer or session once its thread has ended (each holds
        frames of the screen); the worker object itself stays until the next one replaces it."""
        if worker is None:
            return
        if worker.running:  # still closing its devices: look again soon, never block the GUI
            QTimer.singleShot(200, lambda: self._release(worker))
            return
        worker.release()

    def _close_performer(self) -> None:
        performer, self.performer = self.performer, None
        if performer is not None:
            try:
                performer.close()
            except RpaVisionError as exc:
                log.warning("closing the input player: %s", exc)

    @Slot(object)
    def _report_saved(self, path: object) -> None:
        log.info("replay report written to %s", path)

    @Slot(str)
    def _replay_failed(self, msg: str) -> None:
        self._replaying = False
        self._close_performer()
        self._release(self.replay_worker)
        self.library.set_busy(False)
        self.replay_panel.finish("failed", msg)
        self._set_state("Idle")
        self._notify("Replay failed", msg, error=True)

    @Slot(object)
    def _prompt_shown(self, dlg: HealingPrompt) -> None:
        self.show_message(f"Step {dlg.request.step_index + 1} needs you: {dlg.request.reason}")

    # stop / abort ---------------------------------------------------------------------------------
    @Slot()
    def stop_all(self) -> None:
        """Stop the recording (it is saved) or abort the replay."""
        if self.record_worker is not None and self.record_worker.running:
            self._last_rects = self._own_rects()
            self.record_worker.stop()
        if self.replay_worker is not None and self.replay_worker.running:
            self.abort_replay("stopped from the app")
        elif self._replaying:  # the workflow is still being read: the replay never starts
            self._replaying = False

    def abort_replay(self, reason: str) -> None:
        if self.performer is not None:
            self.performer.abort(reason)
        self.decider.cancel()
        if self.replay_worker is not None:
            self.replay_worker.cancel()

    @Slot(str)
    def _hotkey(self, action: str) -> None:
        if action == "abort" and self.replay_worker is not None and self.replay_worker.running:
            self.abort_replay("abort hotkey")
            self.show_message("Replay aborted by the hotkey.")
        elif action == "stop" and self.record_worker is not None and self.record_worker.running:
            self.record_worker.stop()

    # tray ------------------------------------------------------------------------------------------
    @Slot()
    def _tray_record(self) -> None:
        self._show_from_tray()
        self.tabs.setCurrentWidget(self.library)
        self.library.name_edit.setFocus()
        self.show_message("Type a name and press Record.")

    @Slot()
    def _tray_replay(self) -> None:
        e = self.library.selected_entry()
        if e is None or e.broken:
            self._notify("Replay", "select a workflow in the library first")
            return
        self.start_replay(e.name, False)

    @Slot()
    def _show_from_tray(self) -> None:
        self.showNormal()
        self.raise_()

    # settings ----------------------------------------------------------------------------------------
    def settings_dialog(self) -> SettingsDialog:
        return SettingsDialog(self.settings, self.paths.home, self)

    @Slot()
    def open_settings(self) -> None:
        dlg = self.settings_dialog()
        try:
            if dlg.exec() and dlg.result_settings is not None:
                self.apply_settings(dlg.result_settings, dlg.result_home)
        finally:
            dlg.deleteLater()

    def apply_settings(self, settings: Settings, home: Path | None = None) -> bool:
        """Use and persist new settings (and maybe a new home folder); False when saving failed."""
        old = self.settings
        self.settings = settings
        ok = True
        if home is not None and Path(home).expanduser().resolve() != self.paths.home:
            ok = self._switch_home(Path(home))
        try:
            save_settings(settings, self.paths)
        except RpaVisionError as exc:
            self.show_message(f"The settings apply now but could not be saved: {exc}")
            ok = False
        self.watch.set_rate(settings.capture_rate_hz)
        self.hotkeys.set_hotkeys(self._hotkey_map())
        apply_theme(settings.theme)
        if settings.encoder != old.encoder:
            self.encoders.forget_others(settings.encoder, self.paths.home)
            if self.backends.finetune:
                self.finetuner.restart(self.paths, self._tuning_encoder, self._training_encoder())
            if self.watch.running:
                self.watch.stop()
                self.watch = self._make_watch()
                self.watch.start()
        if ok:
            self.show_message("Settings saved.")
        return ok

    def _switch_home(self, home: Path) -> bool:
        from rpa_vision.core.paths import Paths

        paths = Paths.resolve(home)
        err = check_home_writable(paths)
        if err:
            self.show_message(f"Cannot use {paths.home} as the home folder: {err}")
            return False
        self.paths, self.home_error = paths, ""
        self.home_banner.hide()
        self.store = WorkflowStore(paths)
        self.library.store = self.store
        self.matcher.store = self.store
        remember_home(paths.home)
        if self.backends.finetune:
            self.finetuner.restart(paths, self._tuning_encoder, self._training_encoder())
        self.library.refresh()
        self._refresh_matcher()
        return True

    # closing --------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every worker (idempotent); the window can then be destroyed safely."""
        if self._closing:
            return
        self._closing = True
        self.stats_timer.stop()
        self.stop_all()
        self.hotkeys.stop()
        self.watch.stop()
        self.finetuner.stop(wait=5.0)
        if self.replay_worker is not None:
            self.replay_worker.wait(5.0)
        if self.record_worker is not None:
            self.record_worker.wait(10.0)
        for task in self.findChildren(BackgroundTask):
            task.wait(5.0)
        if self.tray is not None:
            self.tray.hide()
        self.log_panel.detach()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
