"""Background workers: watching the screen, replaying, recording. None of them runs on the GUI thread.

Each worker is a ``QObject`` living on the GUI thread that owns a plain ``threading.Thread``;
results travel back as Qt signals, which Qt queues onto the GUI thread because they are emitted
from another thread. Widgets are never touched from a worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.geometry import Box
from rpa_vision.core.logging import get_logger
from ui.matching import LibraryMatcher, MatchResult, bind_state_adapter
from ui.qt_images import shrink
from ui.tasks import background_priority

log = get_logger("ui.workers")

PREVIEW_MAX_WH = (1280, 720)


@dataclass(frozen=True)
class Preview:
    """A downscaled copy of a frame for the live view, with the regions found on it (frame pixels).

    ``image`` is contiguous RGB, prepared on the watch thread so the GUI only wraps it.
    """

    image: np.ndarray
    full_wh: tuple[int, int]
    regions: tuple[Box, ...] = ()
    seq: int = 0


@dataclass
class WatchStats:
    capture: Any = None  # rpa_vision.capture.CaptureStats
    timings_ms: dict[str, float] = field(default_factory=dict)
    perceiver: dict[str, Any] = field(default_factory=dict)
    perception: str = "starting"  # "ok", or why perception is not available
    capture_state: str = "starting"
    encoder: str = ""
    index_size: int = 0
    perceived: int = 0


class WatchWorker(QObject):
    """Captures at a low rate and, for each changed frame, perceives it and matches it to the library."""

    preview = Signal(object)  # Preview
    matched = Signal(object)  # MatchResult
    status = Signal(str)

    def __init__(self, source_factory: Callable[[], Any], matcher: LibraryMatcher, *, rate_hz: float = 2.0,
                 encoder_factory: Callable[[], Any] | None = None, monitor: int = 1,
                 paths: Any = None, parent: QObject | None = None) -> None:
        """``paths``: the home folder whose fine-tuned adapter the state match follows (None: base vectors)."""
        super().__init__(parent)
        self._source_factory = source_factory
        self._paths = paths
        self._encoder_factory = encoder_factory
        self.matcher = matcher
        self.rate_hz = rate_hz
        self.monitor = monitor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: Any = None
        self._lock = threading.Lock()
        self._stats = WatchStats()
        self.perceiver: Any = None
        self.preview_max_wh = PREVIEW_MAX_WH  # the live view's size in device pixels

    # control ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rpa-vision-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None:
            loop.stop(timeout)
        th = self._thread
        if th is not None and th is not threading.current_thread():
            th.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_rate(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        loop = self._loop
        if loop is not None:
            loop.rate_hz = float(rate_hz)

    def stats(self) -> WatchStats:
        """A snapshot; never waits for perception (the perceiver's own statistics are read on the
        watch thread after each frame, since reading them may wait for a running proposal)."""
        with self._lock:
            st = WatchStats(**vars(self._stats))
        loop = self._loop
        if loop is not None:
            st.capture = loop.stats()
        st.index_size = self.matcher.size
        return st

    def _set(self, **kw: Any) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self._stats, k, v)

    # the thread ---------------------------------------------------------------------------------
    def _make_perceiver(self) -> None:
        if self._encoder_factory is None:
            self._set(perception="no encoder configured")
            return
        try:
            from rpa_vision.perception import Perceiver

            encoder = self._encoder_factory()
            self.perceiver = Perceiver(encoder)
            name = str(getattr(encoder, "name", "?"))
            self.matcher.add_encoder("perceiver:" + name, lambda f: self.perceiver.perceive(f).state_vector)
            if self._paths is not None:
                bind_state_adapter(self.matcher, "perceiver:" + name, self._paths, encoder)
            why = getattr(encoder, "chosen_because", "")
            self._set(perception="ok", encoder=name + (f" ({why})" if why else ""))
            log.info("perception ready: encoder %s", name)
        except (ImportError, RpaVisionError) as exc:
            self._set(perception=f"not available: {exc}")
            self.status.emit(f"Perception is not available: {exc}")
            log.warning("perception is not available: %s", exc)

    def _run(self) -> None:
        background_priority()  # the capture loop, replay and training threads started here inherit it
        try:
            from rpa_vision.capture import CaptureLoop

            source = self._source_factory()
            self._loop = CaptureLoop(source, rate_hz=self.rate_hz, monitor=self.monitor)
        except (ImportError, RpaVisionError) as exc:
            self._set(capture_state=f"not available: {exc}")
            self.status.emit(f"Screen capture is not available: {exc}")
            log.warning("screen capture is not available: %s", exc)
            return
        self._loop.start()
        self._set(capture_state="ok")
        self._make_perceiver()
        try:
            self.matcher.refresh()
        except RpaVisionError as exc:
            log.warning("cannot read the library for matching: %s", exc)
        seq = 0
        while not self._stop.is_set():
            cf = self._loop.wait_next(seq, timeout=0.5)
            if cf is None:
                continue
            seq = cf.seq
            try:
                self._process(cf)
            except RpaVisionError as exc:
                log.warning("perception failed on frame %d: %s", cf.seq, exc)
            except Exception:  # a bug must not kill the watcher silently: logged with its traceback
                log.exception("watching failed on frame %d", cf.seq)
                time.sleep(0.5)
        self._loop.stop()
        close = getattr(self._loop.source, "close", None)
        if callable(close):
            close()

    def _process(self, cf: Any) -> None:
        frame = cf.frame
        regions: tuple[Box, ...] = ()
        known: dict[str, np.ndarray] = {}
        if self.perceiver is not None:
            screen = self.perceiver.perceive(frame, cf.dirty)
            regions = tuple(r.box for r in screen.regions)
            known["perceiver:" + str(getattr(self.perceiver.encoder, "name", "?"))] = screen.state_vector
            self._set(timings_ms=dict(screen.timings_ms), perceiver=self.perceiver.stats())
        img, _ = shrink(frame.bgr(), *self.preview_max_wh)
        self.preview.emit(Preview(np.ascontiguousarray(img[:, :, ::-1]), frame.size_wh, regions, cf.seq))
        result: MatchResult = self.matcher.match(frame, known=known)
        with self._lock:
            self._stats.perceived += 1
        self.matched.emit(result)


class ReplayWorker(QObject):
    """Builds and runs a replayer on a thread; forwards its progress events."""

    progress = Signal(object)  # rpa_vision.workflow.replayer.ReplayEvent
    finished = Signal(object)  # ReplayReport
    failed = Signal(str)

    def __init__(self, build: Callable[[Callable[[Any], None]], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self.replayer: Any = None
        self._thread: threading.Thread | None = None
        self._cancelled = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rpa-vision-replay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        background_priority()
        try:
            self.replayer = self._build(self.progress.emit)
            if self._cancelled.is_set():
                self.replayer.cancel()
            report = self.replayer.run()
        except RpaVisionError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # shown to the user and logged with the traceback, never swallowed
            log.exception("replay crashed")
            self.failed.emit(f"replay crashed: {type(exc).__name__}: {exc}")
            return
        self.finished.emit(report)

    def cancel(self) -> None:
        self._cancelled.set()
        replayer = self.replayer
        if replayer is not None:
            replayer.cancel()

    def release(self) -> None:
        """Drop the finished replayer (its frames, screen source and caches) once its report arrived."""
        if not self.running:
            self.replayer = None

    def wait(self, timeout: float | None = None) -> bool:
        th = self._thread
        if th is not None:
            th.join(timeout)
            return not th.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class RecordWorker(QObject):
    """Builds a recording session on a thread, records until stopped, then saves."""

    started = Signal()
    step = Signal(object)  # Step
    saved = Signal(object, object)  # Workflow, folder (None when nothing was recorded)
    failed = Signal(str)

    def __init__(self, build: Callable[[], Any], save: Callable[[Any], tuple[Any, Any]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self._save = save
        self.session: Any = None
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rpa-vision-record", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        background_priority()
        try:
            self.session = self._build()
        except (ImportError, RpaVisionError) as exc:
            self.failed.emit(f"cannot record: {exc}")
            return
        rec = self.session.recorder
        rec.on_step = self.step.emit
        try:
            rec.start()
            self.started.emit()
            while not rec.wait(0.1):
                if self._stop_requested.is_set():
                    rec.stop("stopped from the app")
            wf, folder = self._save(rec)
        except RpaVisionError as exc:
            self.failed.emit(f"recording failed: {exc}")
            return
        except Exception as exc:
            log.exception("recording crashed")
            self.failed.emit(f"recording crashed: {type(exc).__name__}: {exc}")
            return
        finally:
            try:
                self.session.close()
            except RpaVisionError as exc:
                log.warning("closing the recording session: %s", exc)
        self.saved.emit(wf, folder)

    def stop(self) -> None:
        self._stop_requested.set()

    def release(self) -> None:
        """Drop the finished session (its frames and devices) once its result arrived."""
        if not self.running:
            self.session = None

    def wait(self, timeout: float | None = None) -> bool:
        th = self._thread
        if th is not None:
            th.join(timeout)
            return not th.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
