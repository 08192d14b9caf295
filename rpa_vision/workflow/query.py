"""What the replayer hands the locator for one step, rescaled to the current screen.

A workflow recorded on another resolution (or scale factor) still replays: every box is mapped
by the ratio of the current frame size to the recorded one, and the reference screenshot is
resized the same way, so crop, box and reference stay consistent with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.workflow.model import Anchor, Prototype, ScreenInfo, Target


@dataclass(frozen=True, eq=False)
class TargetQuery:
    """A recorded target as the locator needs it; every box is in current-frame pixels."""

    crop: np.ndarray  # the recorded element, BGR (resized by ``scale``)
    box: Box  # where it was, mapped to the current frame size
    reference: np.ndarray | None  # the screen before the step, BGR, resized to the current frame
    text: str = ""
    anchors: tuple[Anchor, ...] = ()
    window_box: Box | None = None
    last_box: Box | None = None  # where the last (healed) replay found it
    prototypes: tuple[np.ndarray, ...] = ()  # other looks of it from healed replays
    scale: tuple[float, float] = (1.0, 1.0)  # current / recorded frame size
    recorded_box: Box | None = None  # the box in the recording's own pixels


def _resize(img: np.ndarray, sx: float, sy: float) -> np.ndarray:
    if abs(sx - 1.0) < 1e-6 and abs(sy - 1.0) < 1e-6:
        return img
    h, w = img.shape[:2]
    size = (max(1, int(round(w * sx))), max(1, int(round(h * sy))))
    interp = cv2.INTER_AREA if sx * sy < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, size, interpolation=interp)


def build_query(
    target: Target,
    crop: np.ndarray,
    reference: np.ndarray | None,
    screen: ScreenInfo,
    frame: Frame,
    prototypes: Sequence[tuple[np.ndarray, Prototype]] = (),
) -> TargetQuery:
    sx, sy = frame.width / screen.width, frame.height / screen.height
    ref = None
    if reference is not None:
        ref = reference if reference.shape[:2] == (frame.height, frame.width) else cv2.resize(
            reference, (frame.width, frame.height), interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR)
    last = None
    if prototypes:
        p = prototypes[-1][1]
        last = p.xyxy.scale(frame.width / max(1, p.screen_wh[0]), frame.height / max(1, p.screen_wh[1]))
    return TargetQuery(
        crop=_resize(crop, sx, sy),
        box=target.xyxy.scale(sx, sy),
        reference=ref,
        text=target.text,
        anchors=tuple(Anchor(a.text, a.xyxy.scale(sx, sy)) for a in target.anchors),
        window_box=None if target.window_xyxy is None else target.window_xyxy.scale(sx, sy),
        last_box=last,
        prototypes=tuple(img for img, _ in prototypes),
        scale=(sx, sy),
        recorded_box=target.xyxy,
    )


def frame_changed(a: Frame, b: Frame, *, threshold: int = 24, min_pixels: int = 12) -> bool:
    """Whether anything visible changed between two frames (a few pixels are enough)."""
    if a.size_wh != b.size_wh:
        return True
    ga, gb = a.gray(), b.gray()
    diff = cv2.absdiff(ga, gb)
    return int(np.count_nonzero(diff > threshold)) >= min_pixels


def looks_same(a: np.ndarray, b: np.ndarray, threshold: float = 0.92) -> bool:
    """Whether two crops show the same thing (normalised correlation after resizing ``b`` to ``a``)."""
    if a.size == 0 or b.size == 0:
        return False
    h, w = a.shape[:2]
    if abs(b.shape[0] - h) > 0.1 * h + 2 or abs(b.shape[1] - w) > 0.1 * w + 2:
        return False
    bb = cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA) if b.shape[:2] != (h, w) else b
    ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float32) if a.ndim == 3 else a.astype(np.float32)
    gb = cv2.cvtColor(bb, cv2.COLOR_BGR2GRAY).astype(np.float32) if bb.ndim == 3 else bb.astype(np.float32)
    da, db = ga - ga.mean(), gb - gb.mean()
    na, nb = float(np.sqrt((da * da).sum())), float(np.sqrt((db * db).sum()))
    if na < 1e-3 or nb < 1e-3:
        return bool(np.abs(ga - gb).mean() < 8)
    return float((da * db).sum() / (na * nb)) >= threshold
