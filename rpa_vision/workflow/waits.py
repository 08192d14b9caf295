"""Waits inferred while recording: when the user sat waiting for the application.

The capture loop hands every new frame to the recorder's ``FrameRing``; the ring keeps a
``ChangeLog`` of how much of the screen changed at each frame (a tiny grey signature per frame,
compared with the previous one: well under a millisecond even on 4K). Between two actions,
``infer_wait`` looks for the pattern "the screen kept changing well after its immediate
reaction to the previous action, then settled, and only then did the user act again" (a page
load, a dialog that appears late). An idle pause with a still screen is not a wait.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame

SIGNATURE_WH = (64, 36)
_SAMPLE_W = 256  # the frame is sampled on a grid about this wide before averaging into the signature
_LEVEL = 12  # a signature cell changed when its grey level moved by more than this


def change_signature(frame: Frame) -> np.ndarray:
    """A 64x36 grey thumbnail of ``frame`` made from a strided sample (cheap on any size)."""
    px = frame.pixels
    step = max(1, px.shape[1] // _SAMPLE_W)
    sample = np.ascontiguousarray(px[::step, ::step])
    nch = 1 if sample.ndim == 2 else sample.shape[2]
    if nch == 4:  # channel order does not matter here: every frame of a log has the same one
        sample = cv2.cvtColor(sample, cv2.COLOR_BGRA2GRAY)
    elif nch == 3:
        sample = cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY)
    else:
        sample = sample.reshape(sample.shape[0], sample.shape[1])
    return cv2.resize(sample, SIGNATURE_WH, interpolation=cv2.INTER_AREA).astype(np.float32)


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of signature cells whose grey level moved by more than a few levels."""
    return float(np.count_nonzero(np.abs(a - b) > _LEVEL)) / a.size


class ChangeLog:
    """(time, fraction of the screen changed since the previous frame), for the last frames.

    Thread-safe: the capture thread pushes, the input listener reads. Bounded by ``max_entries``
    (the capture loop publishes only changed frames, so this is minutes of activity).
    """

    def __init__(self, max_entries: int = 8192) -> None:
        self._entries: deque[tuple[float, float]] = deque(maxlen=max_entries)
        self._last: np.ndarray | None = None
        self._lock = threading.Lock()

    def push(self, t: float, frame: Frame) -> None:
        sig = change_signature(frame)
        with self._lock:
            if self._entries and t < self._entries[-1][0]:
                return  # out of order (a late frame): the log stays sorted by time
            frac = 1.0 if self._last is None else changed_fraction(self._last, sig)
            self._last = sig
            self._entries.append((t, frac))

    def changes(self, t0: float, t1: float, min_fraction: float) -> list[float]:
        """Times in ``(t0, t1)`` at which at least ``min_fraction`` of the screen changed."""
        with self._lock:
            entries = list(self._entries)
        i = bisect_right(entries, (t0, math.inf))
        out = []
        for t, frac in entries[i:]:
            if t >= t1:
                break
            if frac >= min_fraction:
                out.append(t)
        return out

    def covers(self, t: float) -> bool:
        """Whether the log still holds what happened from ``t`` on (a frame at or before it)."""
        with self._lock:
            return bool(self._entries) and self._entries[0][0] <= t


@dataclass(frozen=True)
class WaitRule:
    """When a gap between two actions is a wait (``RecorderConfig`` carries these)."""

    gap_s: float = 1.5  # the gap between the end of one action and the next must be this long
    react_s: float = 0.5  # changes this soon after an action are its immediate reaction
    settle_s: float = 0.3  # the screen stayed still this long before the next action
    min_change: float = 0.01  # a change counts when this fraction of the screen moved (not a caret)
    timeout_cap_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("gap_s", "react_s", "settle_s", "timeout_cap_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValidationError(f"{name} must be a finite number >= 0", field=name, value=v)
        if self.react_s >= self.gap_s:
            raise ValidationError("react_s must be shorter than gap_s", field="react_s", value=self.react_s)
        if not (0.0 < self.min_change <= 1.0):
            raise ValidationError("min_change must be in (0, 1]", field="min_change", value=self.min_change)
        if self.timeout_cap_s < 5.0:
            raise ValidationError("timeout_cap_s must be at least 5 s", field="timeout_cap_s",
                                  value=self.timeout_cap_s)


def wait_timeout(observed_s: float, cap_s: float = WaitRule.timeout_cap_s) -> float:
    """How long a replay waits for a screen that took ``observed_s`` to settle when recorded."""
    return round(min(cap_s, max(5.0, 3.0 * observed_s)), 2)


def infer_wait(log: ChangeLog, end_t: float, next_t: float, rule: WaitRule) -> float | None:
    """Seconds from ``end_t`` (the previous action ended) until the screen settled, when the gap
    up to ``next_t`` (the next action began) was a wait; None otherwise.

    A wait: the gap is at least ``gap_s``, a real change came later than ``react_s`` after the
    action, and the screen then stayed still for ``settle_s`` before the next action.
    """
    if next_t - end_t < rule.gap_s or not log.covers(end_t):
        return None
    changes = log.changes(end_t, next_t, rule.min_change)
    if not changes or changes[-1] <= end_t + rule.react_s:
        return None  # a still screen (the user paused) or only the immediate reaction
    if next_t - changes[-1] < rule.settle_s:
        return None  # still changing when the user acted: not a settled screen to wait for
    return changes[-1] - end_t
