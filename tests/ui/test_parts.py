"""The app's parts one by one: matcher, live view, replay panel, log handler, hotkeys, services, entry point."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.store import WorkflowStore
from tests.conftest import REPO
from tests.ui.conftest import screen_image
from tests.ui.helpers import fake_hotkey


def _workflow_with_states(store: WorkflowStore, name: str, images: list[np.ndarray]) -> None:
    """A workflow whose steps' before-states are the given screens (thumbnail encoder)."""
    from rpa_vision.core.events import Action, ActionKind, Button
    from rpa_vision.core.geometry import Point
    from rpa_vision.workflow import ScreenInfo, StateSnapshot, Step, Workflow
    from rpa_vision.workflow.state import ThumbnailStateEncoder
    from rpa_vision.workflow.store import encode_png

    enc = ThumbnailStateEncoder()
    steps, files = [], {}
    for i, img in enumerate(images):
        thumb = f"s{i}.png"
        files[thumb] = encode_png(img)
        vec = enc.state_vector(Frame.from_array(img))
        steps.append(Step(i, Action(ActionKind.CLICK, point=Point(10, 10), button=Button.LEFT),
                          before=StateSnapshot(thumb, None, vec, enc.name)))
    store.save(Workflow(name, ScreenInfo(640, 400), tuple(steps)), files)


def test_matcher_finds_the_recorded_step_with_margin_and_alternatives(tmp_path: Path) -> None:
    from ui.matching import LibraryMatcher

    store = WorkflowStore(Paths(tmp_path))
    a, b, c = screen_image(0), screen_image(3), np.full((400, 640, 3), 30, np.uint8)
    _workflow_with_states(store, "first", [a, c])
    _workflow_with_states(store, "second", [b])
    broken = tmp_path / "workflows" / "broken"
    broken.mkdir()
    (broken / "workflow.json").write_text("[]")
    m = LibraryMatcher(store)
    assert m.refresh() == 3
    assert "broken" in m.errors
    r = m.match(Frame.from_array(c))
    assert r.best is not None and (r.best.workflow, r.best.step_index, r.best.step_count) == ("first", 1, 2)
    assert r.best.confidence > 0.99
    assert 0 < r.margin <= 1
    assert {(x.workflow, x.step_index) for x in r.matches[1:]} == {("first", 0), ("second", 0)}
    r2 = m.match(Frame.from_array(a))
    assert (r2.best.workflow, r2.best.step_index) == ("first", 0)
    assert r2.margin < r.margin  # screens 0 and 3 look alike, the dark screen does not


def test_matcher_ignores_vectors_of_other_encoders(tmp_path: Path) -> None:
    from ui.matching import LibraryMatcher

    store = WorkflowStore(Paths(tmp_path))
    _workflow_with_states(store, "w", [screen_image(0)])
    m = LibraryMatcher(store, encoders={"thumb64": lambda f: np.ones(7, np.float32)})  # wrong size
    m.refresh()
    r = m.match(Frame.from_array(screen_image(0)))
    assert r.best is None and r.prototypes == 1


def test_matcher_compares_through_the_state_adapter_and_falls_back_when_it_does_not_fit(tmp_path: Path) -> None:
    from rpa_vision.core.errors import ProvenanceMismatchError
    from rpa_vision.workflow.state import ThumbnailStateEncoder
    from ui.matching import LibraryMatcher

    store = WorkflowStore(Paths(tmp_path))
    a, c = screen_image(0), np.full((400, 640, 3), 30, np.uint8)
    _workflow_with_states(store, "w", [a, c])
    name = ThumbnailStateEncoder().name
    m = LibraryMatcher(store)
    m.refresh()
    base = m.match(Frame.from_array(c))
    assert base.best is not None and base.best.step_index == 1 and base.margin > 0.05

    seen: list[int] = []

    def keep_first_half(v: np.ndarray) -> np.ndarray:  # an "adapter" under which the screens look alike
        seen.append(v.shape[0])
        out = np.zeros_like(v)
        out[:, 0] = 1.0
        return out

    m.set_state_adapter(name, keep_first_half)
    m.refresh()
    adapted = m.match(Frame.from_array(c))
    assert seen == [2, 1]  # the stored states at refresh, then the live one
    assert adapted.best is not None and adapted.best.confidence > 0.99 and adapted.margin < 1e-6

    def foreign(v: np.ndarray) -> np.ndarray:
        raise ProvenanceMismatchError("another encoder", expected=1, found=int(v.shape[1]))

    m.set_state_adapter(name, foreign)
    m.refresh()
    fallback = m.match(Frame.from_array(c))
    assert fallback.best is not None and fallback.best.step_index == 1
    assert abs(fallback.margin - base.margin) < 1e-6
    m.set_state_adapter(name, None)
    m.refresh()
    assert abs(m.match(Frame.from_array(c)).margin - base.margin) < 1e-6


def test_live_view_paints_frame_and_regions(qtbot: Any) -> None:
    from ui.live_view import LiveView
    from ui.qt_images import qimage_to_bgr

    v = LiveView()
    qtbot.addWidget(v)
    v.resize(640, 400)
    img = np.zeros((200, 320, 3), np.uint8)
    img[:, :, 2] = 255  # red in BGR
    v.set_frame(img, (640, 400), [Box(100, 100, 300, 200)])
    v.set_show_regions(True)
    shot = qimage_to_bgr(v.grab().toImage())
    cy, cx = shot.shape[0] // 2, shot.shape[1] // 8  # away from the region outline
    assert tuple(shot[cy, cx]) == (0, 0, 255)
    # the region's outline is drawn in the overlay colour (not red) where the box edge is
    r = v.image_rect()
    s = r.width() / 640
    ex, ey = int(r.left() + 100 * s), int(r.top() + 150 * s)
    assert tuple(shot[ey, ex]) != (0, 0, 255)
    v.set_show_regions(False)
    shot2 = qimage_to_bgr(v.grab().toImage())
    assert tuple(shot2[ey, ex]) == (0, 0, 255)


def test_qimage_round_trip_of_all_channel_layouts() -> None:
    from ui.qt_images import bgr_to_qimage, qimage_to_bgr

    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (17, 23, 3), dtype=np.uint8)
    assert np.array_equal(qimage_to_bgr(bgr_to_qimage(bgr)), bgr)
    bgra = np.dstack([bgr, np.full((17, 23), 255, np.uint8)])
    assert np.array_equal(qimage_to_bgr(bgr_to_qimage(bgra)), bgr)
    gray = bgr[:, :, 0].copy()
    assert np.array_equal(qimage_to_bgr(bgr_to_qimage(gray))[:, :, 1], gray)
    assert isinstance(bgr_to_qimage(bgr), QImage)


def test_replay_panel_follows_events(qtbot: Any) -> None:
    from rpa_vision.workflow.replayer import ReplayEvent
    from ui.replay_panel import ReplayPanel

    p = ReplayPanel()
    qtbot.addWidget(p)
    p.begin("demo", 2)
    p.on_event(ReplayEvent("started", -1, 2, {}))
    p.on_event(ReplayEvent("step_started", 0, 2, {"description": "click 'OK'"}))
    p.on_event(ReplayEvent("located", 0, 2, {"candidates": [((0, 0, 5, 5), 0.71)]}))
    p.on_event(ReplayEvent("decided", 0, 2, {"decision": "corrected"}))
    p.on_event(ReplayEvent("healed", 0, 2, {"file": "x.png"}))
    p.on_event(ReplayEvent("step_finished", 0, 2, {"ok": True, "decision": "corrected"}))
    assert [p.cell_text(0, c) for c in range(6)] == ["1", "click 'OK'", "0.71", "corrected", "healed", "ok"]
    assert p.progress.value() == 1 and "step 1 of 2" in p.title.text()
    p.on_event(ReplayEvent("step_started", 1, 2, {"description": "type"}))
    p.on_event(ReplayEvent("located", 1, 2, {"candidates": []}))
    p.on_event(ReplayEvent("step_finished", 1, 2, {"ok": False, "decision": "aborted", "message": "gone"}))
    assert p.cell_text(1, 2) == "not found" and p.cell_text(1, 5) == "failed: gone"
    p.finish("aborted", "step 2: gone")
    assert not p.stop_button.isEnabled() and "aborted" in p.title.text()


def test_log_handler_survives_its_view(qtbot: Any) -> None:
    from ui.log_panel import LogPanel

    panel = LogPanel(logger_name="rpa_vision.test_log_handler")
    qtbot.addWidget(panel)
    logger = logging.getLogger("rpa_vision.test_log_handler")
    assert panel.handler in logger.handlers
    panel.detach()
    assert panel.handler not in logger.handlers
    logger.warning("after detach")  # no crash, no delivery
    qtbot.wait(20)
    assert "after detach" not in panel.text()


def test_global_hotkeys_from_the_listener_thread(qtbot: Any) -> None:
    from rpa_vision.input import FakeInputRecorder
    from ui.hotkeys import GlobalHotkeys

    rec = FakeInputRecorder()
    hk = GlobalHotkeys({"stop": "ctrl+alt+esc", "abort": "pause"}, lambda: rec)
    got: list[str] = []
    hk.pressed.connect(got.append)
    assert hk.start() and hk.available and rec.is_running
    t = threading.Thread(target=lambda: (fake_hotkey(rec, "ctrl", "alt", "esc"), fake_hotkey(rec, "pause"),
                                         fake_hotkey(rec, "alt", "esc")))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=2000)
    qtbot.wait(20)
    assert got == ["stop", "abort"]
    hk.stop()
    assert not rec.is_running
    hk.deleteLater()


def test_global_hotkeys_report_a_missing_listener(qtbot: Any) -> None:
    from rpa_vision.core.errors import InputBackendError
    from ui.hotkeys import GlobalHotkeys

    def broken() -> Any:
        raise InputBackendError("no X server")

    hk = GlobalHotkeys({"stop": "pause"}, broken)
    assert hk.start() is False
    assert not hk.available and "no X server" in hk.reason
    hk.deleteLater()


def test_drop_trailing_clicks_on_the_app_window() -> None:
    from rpa_vision.core.events import Action, ActionKind, Button
    from rpa_vision.core.geometry import Point
    from rpa_vision.workflow import ScreenInfo, StateSnapshot, Step, Workflow
    from ui.services import drop_steps_inside

    def click(i: int, x: float) -> Step:
        return Step(i, Action(ActionKind.CLICK, point=Point(x, 10), button=Button.LEFT),
                    before=StateSnapshot(f"b{i}.png"))

    wf = Workflow("w", ScreenInfo(100, 100), (click(0, 900), click(1, 10), click(2, 950)))
    images = {"b0.png": b"0", "b1.png": b"1", "b2.png": b"2"}
    app = [Box(800, 0, 1000, 500)]
    out, imgs = drop_steps_inside(wf, images, app)
    assert [s.action.point.x for s in out.steps] == [900, 10]  # only the trailing one goes
    assert [s.index for s in out.steps] == [0, 1]
    assert set(imgs) == {"b0.png", "b1.png"}
    same, _ = drop_steps_inside(wf, images, [Box(0, 500, 10, 600)])
    assert same is wf


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.services import check_home_writable, remember_home, resolve_home

    monkeypatch.setenv("RPA_VISION_HOME", str(tmp_path / "env"))
    remember_home(tmp_path / "chosen")
    assert resolve_home(str(tmp_path / "arg")).home == (tmp_path / "arg").resolve()
    assert resolve_home(None).home == (tmp_path / "env").resolve()
    monkeypatch.delenv("RPA_VISION_HOME")
    assert resolve_home(None).home == (tmp_path / "chosen").resolve()
    assert check_home_writable(Paths(tmp_path / "new")) == ""
    (tmp_path / "f").write_text("")
    assert "cannot" in check_home_writable(Paths(tmp_path / "f" / "home"))


def test_replay_config_follows_the_settings() -> None:
    from rpa_vision.core.settings import Settings
    from ui.services import recorder_config, replay_config

    cfg = replay_config(Settings(auto_confidence=0.9, min_confidence=0.4), dry_run=True)
    assert (cfg.min_confidence, cfg.floor_confidence, cfg.on_low_confidence, cfg.dry_run) == (0.9, 0.4, "ask", True)
    rc = recorder_config(Settings(stop_hotkey="ctrl+shift+s", secret_hotkey="ctrl+shift+k"))
    assert ("ctrl", "shift", "s") in rc.stop_hotkeys and rc.secret_hotkey == ("ctrl", "shift", "k")


def test_app_without_a_display_is_one_line_and_non_zero(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["RPA_VISION_HOME"] = str(tmp_path / "home")
    r = subprocess.run([sys.executable, "-m", "rpa_vision", "app"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no display" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def _unused_display() -> str:
    from ui.platform import x_server_reachable

    for n in range(4711, 4800):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not x_server_reachable(f":{n}", 0.5):
            return f":{n}"
    pytest.skip("no unused X display number")


def test_app_with_a_dead_display_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """DISPLAY names a server that is not running: Qt would abort the process; the app says why."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=_unused_display(), RPA_VISION_HOME=str(tmp_path / "home"))
    r = subprocess.run([sys.executable, "-m", "rpa_vision", "app"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode not in (0, -6, 134)  # a clear error, not an abort
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "does not answer" in lines[0] and env["DISPLAY"] in lines[0], r.stderr


def test_x_server_reachable_tells_a_live_server_from_a_dead_one(xvfb: Any) -> None:
    from ui.platform import x_server_reachable

    assert x_server_reachable(xvfb.display)  # type: ignore[attr-defined]
    assert x_server_reachable(xvfb.display + ".0")  # type: ignore[attr-defined]
    assert not x_server_reachable(_unused_display())
    assert not x_server_reachable("not-a-display")


def test_app_main_starts_and_quits_offscreen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any) -> None:
    """ui.app.main builds the real window (no watching here) and returns the event loop's code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import ui.app as app_module
    from ui.main_window import MainWindow

    built: list[MainWindow] = []

    class Quick(MainWindow):
        def __init__(self, home: str | None = None) -> None:
            from ui.services import Backends

            super().__init__(home, backends=Backends(global_hotkeys=False, tray=False, watch=False))
            built.append(self)
            QTimer.singleShot(200, self.close)
            QTimer.singleShot(300, QApplication.instance().quit)

    monkeypatch.setattr("ui.main_window.MainWindow", Quick)
    assert app_module.main(home=str(tmp_path / "h")) == 0
    assert built and built[0].paths.home == (tmp_path / "h").resolve()
    built[0].deleteLater()


def test_stats_panel_says_not_available(qtbot: Any) -> None:
    from ui.stats_panel import StatsPanel
    from ui.workers import WatchStats

    p = StatsPanel()
    qtbot.addWidget(p)
    p.show_stats(WatchStats(perception="not available: no encoder"), "not available (x)")
    assert p.text("capture") == "not running"
    assert p.text("latency") == "not available"
    assert p.text("cache") == "not available"
    assert p.text("finetune") == "not available (x)"
    cap = SimpleNamespace(fps=2.0, grab_ms_p50=12.0, frames=3, grabs=10, errors=0, last_error=None)
    p.show_stats(WatchStats(capture=cap, timings_ms={"roi": 12.5, "total": 30.0}, perception="ok",
                            perceiver={"embeddings": {"hits": 3, "misses": 1}}, index_size=5), "2 examples")
    assert "2.0 fps" in p.text("capture") and "roi 12 ms" in p.text("latency").replace("13", "12")
    assert p.text("cache") == "75% of 4" and p.text("index") == "5 recorded screens"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is a Linux feature")
def test_background_work_runs_below_the_gui_threads_priority(qtbot: Any) -> None:
    """Tasks (and the threads they start, such as a training run) get less CPU priority than the GUI."""
    import os
    import threading

    from ui.tasks import BackgroundTask

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def work() -> tuple[int, int]:
        seen: list[int] = []
        child = threading.Thread(target=lambda: seen.append(nice()))
        child.start()
        child.join()
        return nice(), seen[0]

    task = BackgroundTask(work, "nice")
    with qtbot.waitSignal(task.done, timeout=5000) as got:
        task.start()
    mine, child = got.args[0]
    assert mine > nice() and child == mine


def test_the_app_fine_tunes_the_encoder_replays_locate_with(qtbot: Any, tmp_path: Path) -> None:
    """Whatever encoder the state match uses, the adapter the app trains is the one a replay's
    Locator is bound to (same encoder identity), trained in a separate process."""
    from rpa_vision.finetune.adapter import encoder_identity
    from rpa_vision.finetune.wiring import encoder_provenance
    from rpa_vision.locate.backends import default_encoder
    from ui.main_window import MainWindow
    from ui.services import Backends

    w = MainWindow(str(tmp_path / "h"), backends=Backends(global_hotkeys=False, tray=False, watch=False,
                                                            finetune=False))
    qtbot.addWidget(w, before_close_func=lambda widget: widget.shutdown())
    tuned = w._tuning_encoder()
    assert encoder_identity(encoder_provenance(tuned)) == encoder_identity(encoder_provenance(default_encoder()))
    assert w._training_encoder() == getattr(tuned, "name", None)
    w.encoders.forget_others("clip", w.paths.home)  # switching the state encoder keeps the tuner's
    assert w._tuning_encoder() is tuned
