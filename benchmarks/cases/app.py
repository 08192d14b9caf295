"""Desktop app figures, measured on the app running in its own process (offscreen Qt):

- idle CPU while watching a static screen at 2 fps (the live screen of a 1920x1080 Xvfb through
  mss when Xvfb is installed, else a fake screen source);
- GUI-thread stall: the event loop's worst lateness while perception (a changing screen), replays
  and adapter training run in worker threads, next to the same timer in the same process just before
  with the app idle (the machine's own noise at that moment);
- resident memory with the builtin encoder and with CLIP (random weights: no download).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchContext, bench_case

REPO = Path(__file__).resolve().parents[2]


# --- the probe (runs in the app's process) ------------------------------------------------------------
def _screen(variant: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(variant)
    img = np.full((1080, 1920, 3), 236, np.uint8)
    img[:40] = (90, 60, 30)
    for _ in range(50):
        x, y = int(rng.integers(0, 1800)), int(rng.integers(60, 1040))
        img[y:y + 28, x:x + 110] = rng.integers(0, 255, 3)
        img[y + 10:y + 16, x + 12:x + 90] = 255
    return img


def _pump(app: Any, seconds: float, cond: Any = None) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if cond is not None and cond():
            return True
        time.sleep(0.01)
    return cond is None


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


class _Locator:
    def __init__(self, box: Any) -> None:
        self.box = box

    def locate(self, spec: Any, frame: Any, top_k: int) -> list[Any]:
        from types import SimpleNamespace

        return [SimpleNamespace(box=self.box, confidence=0.97, score=0.97, evidence={})]


def probe(mode: str, seconds: float, encoder: str, home: str, epochs: int = 150) -> dict[str, Any]:
    """Start the app, let it settle, measure; ``mode`` is idle, stall or memory.

    stall: ``seconds`` with the app idle (not watching), then ``seconds`` with the screen changing
    under perception, replays restarted as they end and adapter training (``epochs`` per run) in a
    loop; the 10 ms timer's lateness is kept per phase."""
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    import ui  # noqa: F401  (the Qt binding work-around first)
    from rpa_vision.capture import FakeScreenSource, create_screen_source
    from rpa_vision.core.events import Button, EventKind, InputEvent
    from rpa_vision.core.geometry import Box, Point
    from rpa_vision.embedding import create_encoder
    from rpa_vision.input import FakeInputPlayer, FakeInputRecorder
    from ui.main_window import MainWindow
    from ui.platform import favour_gui_thread
    from ui.services import Backends

    favour_gui_thread()  # as ui.app.main does
    app = QApplication.instance() or QApplication(["rpa-vision-bench"])
    live = mode == "idle" and bool(os.environ.get("DISPLAY"))
    screens = [_screen(0)] if mode != "stall" else [_screen(i) for i in range(6)]
    recorder, player = FakeInputRecorder(), FakeInputPlayer()
    target = Box(300, 300, 410, 328)

    def shown(n: int) -> Any:  # an application that changes its screen twice a second
        return screens[int(time.monotonic() * 2) % len(screens)]

    def source() -> Any:
        if live:
            return create_screen_source("mss")
        return FakeScreenSource(shown) if len(screens) > 1 else FakeScreenSource(screens)

    def make_encoder(name: str, h: Path) -> Any:
        return create_encoder("clip", pretrained=None) if encoder == "clip" else create_encoder("builtin")

    if encoder == "builtin":  # the app's own path: the encoder the settings name, training in a process
        from rpa_vision.core.paths import Paths
        from rpa_vision.core.settings import Settings, save_settings

        save_settings(Settings(encoder="builtin"), Paths.resolve(home))
    backends = Backends(screen_source=source, input_recorder=lambda: recorder, hotkey_recorder=FakeInputRecorder,
                        player=lambda: player, locator=_Locator(target),
                        encoder=None if encoder == "builtin" else make_encoder, tray=False,
                        global_hotkeys=False, watch=False)
    w = MainWindow(home, backends=backends)
    w.move(2000, 0)
    w.show()
    out: dict[str, Any] = {"source": "mss (Xvfb)" if live else "fake", "encoder": encoder}
    if mode == "stall":  # a workflow to replay while measuring
        w.library.name_edit.setText("bench")
        w.library.record_button.click()
        _pump(app, 20, lambda: recorder.is_running)
        _pump(app, 0.3)
        p = target.center
        for kind in (EventKind.PRESS, EventKind.RELEASE):
            recorder.emit(InputEvent(kind, point=Point(p.x, p.y), button=Button.LEFT))
        _pump(app, 0.3)
        w.library.stop_button.click()
        _pump(app, 30, lambda: w.last_recorded is not None)
        _pump(app, 10, lambda: w.library.select("bench"))
    w.watch.set_rate(2.0 if mode != "stall" else 4.0)
    w.set_watching(True)
    if not _pump(app, 120, lambda: w.watch.stats().perceived >= 1):
        out["error"] = "no frame was perceived within 120 s: " + w.watch.stats().perception
        return out
    _pump(app, 1.0)
    out["rss_mb"] = _rss_mb()
    if mode == "memory":
        w.shutdown()
        return out

    trainer: subprocess.Popen[str] | None = None
    replays = [0]
    phase = ["idle"]
    if mode == "stall":
        # the app trains in a separate process at a lower priority (ui.finetune_service); this one
        # trains without a pause, warmed up before the measurement starts
        trainer = subprocess.Popen([sys.executable, "-c", _TRAIN_LOOP, str(Path(home) / "ft"), str(epochs)],
                                   cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = trainer.stdout.readline() if trainer.stdout is not None else ""
        if not ready.startswith("READY"):
            out["error"] = f"the training process did not start: {ready!r}"
            return out
        w.set_watching(False)  # the idle phase first
        _pump(app, 10, lambda: not w.watch.running)

        def load() -> None:
            phase[0] = "load"
            w.set_watching(True)
            if trainer is not None and trainer.stdin is not None:
                trainer.stdin.write("go\n")
                trainer.stdin.flush()
            w.start_replay("bench", False)  # restarted by the timer below each time it ends

    lateness: dict[str, list[float]] = {"idle": [], "load": []}
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    tick = QTimer()
    tick.setTimerType(Qt.TimerType.PreciseTimer)
    tick.setInterval(10)

    def on_tick() -> None:
        now = clock.nsecsElapsed()
        lateness[phase[0]].append(max(0.0, (now - last[0]) / 1e6 - 10.0))
        last[0] = now
        if phase[0] == "load" and w.last_report is not None and not w.busy:
            w.last_report = None
            replays[0] += 1
            w.start_replay("bench", False)

    total = seconds
    if mode == "stall":
        tick.timeout.connect(on_tick)
        tick.start()
        QTimer.singleShot(int(seconds * 1000), load)
        total = 2 * seconds
    perceived0 = w.watch.stats().perceived
    cpu0, wall0 = time.process_time(), time.monotonic()
    QTimer.singleShot(int(total * 1000), app.quit)
    app.exec()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    tick.stop()
    if trainer is not None:
        trainer.kill()
        trainer.wait(30)
    st = w.watch.stats()
    out.update(cpu_pct=100.0 * cpu / wall, seconds=wall, perceived=st.perceived - perceived0,
               grabs=st.capture.grabs if st.capture is not None else 0, replays=replays[0],
               rss_end_mb=_rss_mb())
    for name, values in lateness.items():
        if values:
            lat = sorted(values)
            out[name] = dict(stall_max_ms=lat[-1], stall_p99_ms=lat[int(0.99 * (len(lat) - 1))], ticks=len(lat))
    w.shutdown()
    return out


_TRAIN_LOOP = "import sys; from benchmarks.cases.app import train_loop; train_loop(sys.argv[1], int(sys.argv[2]))"


def train_loop(folder: str, epochs: int) -> None:
    """Adapter training without end (the bench's stand-in for the app's training process): warms up,
    prints READY, waits for a line on stdin, then trains until killed."""
    import numpy as np

    from rpa_vision.core.paths import Paths
    from rpa_vision.finetune import FineTuneConfig, FineTuner, TrainConfig
    from rpa_vision.testbed.synthetic import lookalike_icon, pixel_embed

    os.nice(10)  # as the app's training process (started from a lower-priority worker thread)
    tuner = FineTuner(Paths(Path(folder)), pixel_embed, {"name": "pixel16", "dim": 256}, 256,
                      FineTuneConfig(auto_after=0, train=TrainConfig(epochs=epochs)))
    rng = np.random.default_rng(0)
    for i in range(40):
        v = i % 2
        tuner.add_example("correction", lookalike_icon(v, rng), lookalike_icon(v, rng),
                          [lookalike_icon(1 - v, rng)], {"workflow": "bench", "step": v})
    tuner.run()  # warm: one-time costs
    print("READY", flush=True)
    sys.stdin.readline()
    while True:
        tuner.clear_vector_cache()  # each run is a cold one: every crop embedded again
        tuner.run()


# --- running the probe in a subprocess ------------------------------------------------------------------
def _run_probe(mode: str, seconds: float, encoder: str = "builtin",
               display: dict[str, str] | None = None, epochs: int = 150) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rpa-vision-app-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update(display or {})
        env.update(QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1", RPA_VISION_HOME=str(Path(tmp) / "home"),
                   XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        code = ("import json, sys; from benchmarks.cases.app import probe; "
                "print('RESULT ' + json.dumps(probe(sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], "
                "int(sys.argv[5]))))")
        proc = subprocess.run([sys.executable, "-c", code, mode, str(seconds), encoder, str(Path(tmp) / "home"),
                               str(epochs)], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=2 * seconds + 400)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"app probe {mode} failed (rc {proc.returncode}): {proc.stderr.strip()[-800:]}")
        result: dict[str, Any] = json.loads(line[len("RESULT "):])
        if "error" in result:
            raise RuntimeError(result["error"])
        return result


@bench_case("idle_cpu", "app")
def idle_cpu(ctx: BenchContext) -> None:
    """CPU of the whole app process watching a static screen at 2 fps (30 s; quick: 5 s)."""
    seconds = 5.0 if ctx.quick else 30.0
    server = None
    display: dict[str, str] = {}
    try:
        from rpa_vision.testbed import Xvfb, XvfbUnavailable, xvfb_available

        if xvfb_available():
            try:
                server = Xvfb(1920, 1080).start()
                display = server.env
            except XvfbUnavailable:
                server = None
        r = _run_probe("idle", seconds, display=display)
    finally:
        if server is not None:
            server.stop()
    extra = {k: r[k] for k in ("source", "grabs", "perceived", "seconds")}
    ctx.value("idle_cpu_2fps", r["cpu_pct"], "% of one core", target="<= 5 %", extra=extra)
    ctx.value("rss_builtin_idle", r["rss_end_mb"], "MB", target="<= 600 MB", extra={"source": r["source"]})


@bench_case("gui_stall", "app")
def gui_stall(ctx: BenchContext) -> None:
    """Worst event-loop lateness (10 ms timer) while perception, replays and training run (15 s; quick 5 s
    with shorter training runs), and the same timer in the same process just before, with the app idle
    (the machine's own noise then: a loaded machine delays every thread)."""
    seconds = 5.0 if ctx.quick else 15.0
    r = _run_probe("stall", seconds, epochs=30 if ctx.quick else 150)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0
    idle, busy = r["idle"], r["load"]
    extra = {k: r[k] for k in ("perceived", "replays", "cpu_pct", "seconds")}
    extra.update(ticks=busy["ticks"], load_avg_1m=load, cpus=os.cpu_count())
    ctx.value("gui_stall_max_idle_app", idle["stall_max_ms"], "ms", extra={"load_avg_1m": load})
    ctx.value("gui_stall_p99_idle_app", idle["stall_p99_ms"], "ms")
    ctx.value("gui_stall_max", busy["stall_max_ms"], "ms", target="<= 100 ms", extra=extra)
    ctx.value("gui_stall_p99", busy["stall_p99_ms"], "ms", baseline="gui_stall_p99_idle_app", extra=extra)
    ctx.value("rss_while_training", r["rss_end_mb"], "MB", target="<= 600 MB",
              extra={"note": "the app's resident memory while adapters train (in their own process)"})


@bench_case("memory_clip", "app", quick=False)
def memory_clip(ctx: BenchContext) -> None:
    """Resident memory of the app with the CLIP encoder (ViT-B-32, random weights) after a frame."""
    r = _run_probe("memory", 1.0, encoder="clip")
    b = _run_probe("memory", 1.0, encoder="builtin")
    ctx.value("rss_builtin", b["rss_mb"], "MB", target="<= 600 MB")
    ctx.value("rss_clip", r["rss_mb"], "MB", baseline="rss_builtin")
