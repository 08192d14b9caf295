"""``CaptureLoop``: a thread that grabs at a target rate and hands on only the newest frame.

Frames that did not change are skipped (and counted); each published frame carries the dirty
rectangles against the previously published one. Nothing queues: a slow consumer simply sees
the newest frame. A failing grab is reported (stats, error callbacks, log), backed off and
retried; the loop never dies silently.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from rpa_vision.capture.base import ScreenSource
from rpa_vision.capture.change import DEFAULT_ROW_STEP, DEFAULT_TILE, dirty_rects
from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.core.logging import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True)
class CapturedFrame:
    """A published frame, what changed since the previous one (frame pixels), and its number."""

    frame: Frame
    dirty: tuple[Box, ...]
    seq: int


@dataclass(frozen=True)
class CaptureStats:
    fps: float  # successful grabs per second over the recent window
    grab_ms_p50: float
    grab_ms_last: float
    frames: int  # published (changed) frames
    grabs: int  # successful grabs
    skipped: int  # grabs that showed no change
    errors: int  # failed grabs
    consecutive_errors: int
    last_error: str | None
    running: bool


FrameCallback = Callable[[CapturedFrame], None]
ErrorCallback = Callable[[BaseException], None]


class CaptureLoop:
    """Grabs ``monitor`` (or ``region`` of it) from ``source`` ``rate_hz`` times a second.

    ``rate_hz`` may be changed while running (it applies from the next tick). Do not call
    ``step()`` yourself while the thread runs.
    """

    def __init__(
        self,
        source: ScreenSource,
        rate_hz: float = 2.0,
        monitor: int = 1,
        region: Box | None = None,
        *,
        tile: int = DEFAULT_TILE,
        row_step: int = DEFAULT_ROW_STEP,
        max_backoff_s: float = 5.0,
        window: int = 64,
    ) -> None:
        if not (rate_hz > 0 and rate_hz <= 1000):
            raise ValidationError(f"rate_hz must be in (0, 1000], got {rate_hz}", field="rate_hz")
        if max_backoff_s <= 0:
            raise ValidationError("max_backoff_s must be > 0", field="max_backoff_s")
        self.source = source
        self.rate_hz = float(rate_hz)
        self.monitor = monitor
        self.region = region
        self.tile = tile
        self.row_step = row_step
        self.max_backoff_s = max_backoff_s
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: CapturedFrame | None = None
        self._subs: list[FrameCallback] = []
        self._err_subs: list[ErrorCallback] = []
        self._grab_ms: deque[float] = deque(maxlen=window)
        self._grab_t: deque[float] = deque(maxlen=window)
        self._frames = self._grabs = self._skipped = self._errors = self._consecutive = 0
        self._last_error: str | None = None
        self._compares = 0

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> CaptureLoop:
        """Start the thread (no-op when running)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rpa-vision-capture", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread (no-op when stopped)."""
        with self._cond:
            th = self._thread
            self._stop.set()
            self._wake.set()
            self._cond.notify_all()
        if th is not None and th is not threading.current_thread():
            th.join(timeout)
            if th.is_alive():
                _log.warning("capture thread did not stop within %.1f s", timeout)
        with self._cond:
            if self._thread is th and (th is None or not th.is_alive()):
                self._thread = None

    @property
    def running(self) -> bool:
        th = self._thread
        return th is not None and th.is_alive()

    def __enter__(self) -> CaptureLoop:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- consumers ------------------------------------------------------------------------------
    def latest(self) -> CapturedFrame | None:
        with self._cond:
            return self._latest

    def wait_next(self, after_seq: int = 0, timeout: float | None = None) -> CapturedFrame | None:
        """The newest frame with ``seq > after_seq``; None on timeout or when the loop stops."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.seq <= after_seq:
                if self._stop.is_set() and not self.running:
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left if left is not None else 0.5)
            return self._latest

    def trigger(self) -> None:
        """Grab now instead of at the next tick (e.g. when the user just clicked)."""
        self._wake.set()

    def subscribe(self, fn: FrameCallback) -> Callable[[], None]:
        """Call ``fn(captured)`` from the loop thread for each published frame; returns an unsubscribe."""
        with self._cond:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._cond:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def on_error(self, fn: ErrorCallback) -> Callable[[], None]:
        """Call ``fn(exc)`` from the loop thread for each failed grab; returns an unsubscribe."""
        with self._cond:
            self._err_subs.append(fn)

        def unsubscribe() -> None:
            with self._cond:
                if fn in self._err_subs:
                    self._err_subs.remove(fn)

        return unsubscribe

    def stats(self) -> CaptureStats:
        with self._cond:
            ms = list(self._grab_ms)
            ts = list(self._grab_t)
            fps = (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) >= 2 and ts[-1] > ts[0] else 0.0
            return CaptureStats(
                fps=fps,
                grab_ms_p50=statistics.median(ms) if ms else 0.0,
                grab_ms_last=ms[-1] if ms else 0.0,
                frames=self._frames,
                grabs=self._grabs,
                skipped=self._skipped,
                errors=self._errors,
                consecutive_errors=self._consecutive,
                last_error=self._last_error,
                running=self.running,
            )

    # --- the thread -------------------------------------------------------------------------------
    def step(self) -> CapturedFrame | None:
        """One grab-compare-publish cycle (what the thread does each tick).

        Returns the published frame, or None when the grab showed no change. Grab errors
        propagate; the thread reports them.
        """
        t0 = time.perf_counter()
        frame = self.source.grab(self.monitor, self.region)
        ms = (time.perf_counter() - t0) * 1000.0
        with self._cond:
            self._grabs += 1
            self._grab_ms.append(ms)
            self._grab_t.append(time.monotonic())
            prev = self._latest
        if prev is None or prev.frame.pixels.shape != frame.pixels.shape or prev.frame.monitor != frame.monitor:
            dirty: list[Box] = [Box(0, 0, frame.width, frame.height)]
        else:
            self._compares += 1
            dirty = dirty_rects(prev.frame, frame, self.tile, self.row_step, phase=self._compares)
            if not dirty:
                with self._cond:
                    self._skipped += 1
                return None
        with self._cond:
            seq = (prev.seq if prev is not None else 0) + 1
            captured = CapturedFrame(frame, tuple(dirty), seq)
            self._latest = captured
            self._frames += 1
            self._cond.notify_all()
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(captured)
            except Exception:  # a broken subscriber must not stop capture; it is logged, not hidden
                _log.exception("capture subscriber %r failed", fn)
        return captured

    def _report_error(self, exc: BaseException) -> None:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        with self._cond:
            self._errors += 1
            self._consecutive += 1
            self._last_error = msg
            first = self._consecutive == 1
            subs = list(self._err_subs)
        if isinstance(exc, RpaVisionError):
            (_log.warning if first else _log.debug)("capture failed (%s); retrying", msg)
        else:
            _log.error("capture failed unexpectedly: %s", msg, exc_info=exc)
        for fn in subs:
            try:
                fn(exc)
            except Exception:
                _log.exception("capture error callback %r failed", fn)

    def _run(self) -> None:
        backoff = 0.0
        next_t = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            period = 1.0 / max(1e-3, float(self.rate_hz))  # may be changed while running
            try:
                self.step()
            except Exception as exc:  # reported through stats, callbacks and the log, then retried
                self._report_error(exc)
                backoff = min(self.max_backoff_s, max(period, backoff * 2 if backoff else period))
                self._stop.wait(backoff)
                next_t = time.monotonic()
                continue
            if backoff:
                _log.info("capture recovered after %d failed grab(s)", self._consecutive)
                backoff = 0.0
            with self._cond:
                self._consecutive = 0
            next_t += period
            now = time.monotonic()
            if next_t < now:  # running late: do not burst to catch up
                next_t = now
            delay = next_t - now
            if delay > 0:
                self._wake.wait(delay)
                if self._wake.is_set():
                    next_t = time.monotonic()
        with self._cond:
            self._cond.notify_all()
