"""CaptureLoop: lifecycle, skipping, dirty rects, newest-only hand-off, failure and recovery."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rpa_vision.capture import CapturedFrame, CaptureLoop, FakeScreenSource
from rpa_vision.core.errors import DisplayUnavailableError, ValidationError
from rpa_vision.core.geometry import Box

WAIT = 10.0  # generous timeouts: the CI machine may be slow; nothing asserts timing


def img(v: int, h: int = 120, w: int = 160) -> np.ndarray:
    a = np.full((h, w, 4), 200, np.uint8)
    a[10:20, 10:20] = v
    return a


class Scripted:
    """Images by grab number: lets a test decide exactly what each grab shows."""

    def __init__(self, images: list[np.ndarray]) -> None:
        self.images = images

    def __call__(self, n: int) -> np.ndarray:
        return self.images[min(n, len(self.images) - 1)]


def test_step_publishes_first_frame_skips_unchanged_and_reports_dirty() -> None:
    changed = img(0)
    changed[50:52, 100:104] = 7
    src = FakeScreenSource(Scripted([img(0), img(0), img(0), changed]), channels="BGRA")
    loop = CaptureLoop(src, rate_hz=10)
    first = loop.step()
    assert first is not None and first.seq == 1 and first.dirty == (Box(0, 0, 160, 120),)
    assert loop.step() is None and loop.step() is None
    third = loop.step()
    assert third is not None and third.seq == 2
    assert third.dirty == (Box(100, 50, 104, 52),)
    st = loop.stats()
    assert (st.grabs, st.frames, st.skipped, st.errors) == (4, 2, 2, 0)
    assert loop.latest() is third


def test_thin_change_missed_by_one_phase_is_found_on_the_next_grab() -> None:
    base = img(0)
    thin = base.copy()
    thin[30, 40:60] = 1  # one even row only: the first comparison samples odd rows
    src = FakeScreenSource(Scripted([base, thin, thin, thin]), channels="BGRA")
    loop = CaptureLoop(src, row_step=2)
    loop.step()
    missed, found = loop.step(), loop.step()
    assert missed is None
    assert found is not None and found.dirty == (Box(40, 30, 60, 31),)


def test_thread_runs_publishes_and_stops_cleanly() -> None:
    counter = {"n": 0}

    def changing(n: int) -> np.ndarray:
        counter["n"] = n
        return img(n % 250)

    src = FakeScreenSource(changing, channels="BGRA")
    loop = CaptureLoop(src, rate_hz=200)
    got: list[CapturedFrame] = []
    loop.subscribe(got.append)
    loop.start()
    loop.start()  # idempotent
    try:
        first = loop.wait_next(0, timeout=WAIT)
        assert first is not None
        nxt = loop.wait_next(first.seq + 2, timeout=WAIT)
        assert nxt is not None and nxt.seq > first.seq + 2
    finally:
        loop.stop()
    loop.stop()  # idempotent
    assert not loop.running
    assert not any(t.name == "rpa-vision-capture" and t.is_alive() for t in threading.enumerate())
    seqs = [c.seq for c in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and len(seqs) >= 3
    # restartable after a stop
    loop.start()
    try:
        assert loop.wait_next(seqs[-1], timeout=WAIT) is not None
    finally:
        loop.stop()


def test_only_the_newest_frame_is_kept() -> None:
    """A consumer that never reads does not make anything pile up: one frame is held."""
    src = FakeScreenSource(lambda n: img(n % 250), channels="BGRA")
    loop = CaptureLoop(src, rate_hz=500)
    loop.start()
    try:
        cf = loop.wait_next(20, timeout=WAIT)
        assert cf is not None
    finally:
        loop.stop()
    latest = loop.latest()
    assert latest is not None and latest.seq >= cf.seq
    held = [v for v in vars(loop).values() if isinstance(v, CapturedFrame)]
    assert held == [latest]
    assert len(loop._grab_ms) <= 64 and len(loop._grab_t) <= 64


def test_failures_are_reported_then_the_loop_recovers() -> None:
    src = FakeScreenSource(lambda n: img(n % 250), channels="BGRA", fail_times=3)
    loop = CaptureLoop(src, rate_hz=500, max_backoff_s=0.01)
    seen: list[BaseException] = []
    loop.on_error(seen.append)
    loop.start()
    try:
        cf = loop.wait_next(0, timeout=WAIT)
    finally:
        loop.stop()
    assert cf is not None, "the loop did not recover after the display came back"
    st = loop.stats()
    assert st.errors == 3 and len(seen) == 3
    assert all(isinstance(e, DisplayUnavailableError) for e in seen)
    assert st.last_error is not None and "unavailable" in st.last_error
    assert st.consecutive_errors == 0
    assert st.grabs >= 1 and st.grab_ms_last >= 0


def test_unexpected_exceptions_and_broken_callbacks_do_not_kill_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}

    def flaky(n: int) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("driver hiccup")
        return img(n % 250)

    src = FakeScreenSource(flaky, channels="BGRA")
    loop = CaptureLoop(src, rate_hz=500, max_backoff_s=0.01)

    def bad_subscriber(cf: CapturedFrame) -> None:
        raise ValueError("subscriber bug")

    loop.subscribe(bad_subscriber)
    loop.start()
    try:
        assert loop.wait_next(3, timeout=WAIT) is not None
    finally:
        loop.stop()
    st = loop.stats()
    assert st.errors == 1 and st.last_error == "driver hiccup"
    assert "capture subscriber" in caplog.text and "subscriber bug" in caplog.text


def test_unsubscribe_and_wait_timeout() -> None:
    src = FakeScreenSource([img(0)], channels="BGRA")
    loop = CaptureLoop(src)
    got: list[CapturedFrame] = []
    unsub = loop.subscribe(got.append)
    loop.step()
    unsub()
    src.set_images([img(5)])
    loop.step()
    assert len(got) == 1
    assert loop.wait_next(99, timeout=0.01) is None


def test_region_capture_and_trigger() -> None:
    src = FakeScreenSource(lambda n: img(n % 250), channels="BGRA")
    loop = CaptureLoop(src, rate_hz=0.01, region=Box(5, 5, 25, 25))  # one tick per 100 s
    loop.start()
    try:
        first = loop.wait_next(0, timeout=WAIT)
        assert first is not None and first.frame.size_wh == (20, 20)
        loop.trigger()  # grabs now instead of in 100 s
        assert loop.wait_next(first.seq, timeout=WAIT) is not None
    finally:
        loop.stop()


def test_bad_arguments() -> None:
    src = FakeScreenSource([img(0)])
    with pytest.raises(ValidationError):
        CaptureLoop(src, rate_hz=0)
    with pytest.raises(ValidationError):
        CaptureLoop(src, max_backoff_s=0)


def test_rate_can_change_while_running() -> None:
    src = FakeScreenSource(lambda n: img(n % 250), channels="BGRA")
    loop = CaptureLoop(src, rate_hz=0.01)  # one tick per 100 s
    loop.start()
    try:
        first = loop.wait_next(0, timeout=WAIT)
        assert first is not None
        loop.rate_hz = 500.0
        loop.trigger()  # ends the current 100 s wait; from then on the new rate applies
        assert loop.wait_next(first.seq + 3, timeout=WAIT) is not None
    finally:
        loop.stop()
