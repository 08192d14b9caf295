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
    """A recorded target as the locator needs it.

    ``crop``, ``box``, ``reference``, ``anchors`` and ``window_box`` are as recorded (the
    recording's pixels); ``scale`` maps them onto the current frame (current / recorded size)
    and ``reference_scale`` is the recorded monitor's scale factor. ``last_box`` and the healed
    ``prototypes`` come from earlier replays and are in current-frame pixels.
    """

    crop: np.ndarray
    box: Box
    reference: np.ndarray | None = None
    text: str = ""
    anchors: tuple[Anchor, ...] = ()
    window_box: Box | None = None
    last_box: Box | None = None
    prototypes: tuple[tuple[np.ndarray, Box, np.ndarray | None], ...] = ()  # crop, box, screenshot
    scale: tuple[float, float] = (1.0, 1.0)
    reference_scale: float = 1.0

    @property
    def box_on_screen(self) -> Box:
        """The recorded box mapped onto the current frame size."""
        return self.box.scale(*self.scale)

    def scaled_crop(self) -> np.ndarray:
        """The crop resized by ``scale`` (how it would look at the current frame size)."""
        return _resize(self.crop, *self.scale)


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
    prototypes: Sequence[tuple[np.ndarray, Prototype, np.ndarray | None]] = (),
) -> TargetQuery:
    sx, sy = frame.width / screen.width, frame.height / screen.height
    if reference is not None and reference.shape[:2] != (screen.height, screen.width):
        reference = None  # a screenshot that does not match the recorded screen cannot be trusted
    protos = tuple(
        (img, p.xyxy.scale(frame.width / max(1, p.screen_wh[0]), frame.height / max(1, p.screen_wh[1])),
         shot if shot is not None and shot.shape[:2] == (frame.height, frame.width) else None)
        for img, p, shot in prototypes
    )
    return TargetQuery(
        crop=crop,
        box=target.xyxy,
        reference=reference,
        text=target.text,
        anchors=target.anchors,
        window_box=target.window_xyxy,
        last_box=protos[0][1] if protos else None,
        prototypes=protos,
        scale=(sx, sy),
        reference_scale=screen.scale,
    )


def frame_changed(a: Frame, b: Frame, *, threshold: int = 24, min_pixels: int = 12) -> bool:
    """Whether anything visible changed between two frames (a few pixels are enough)."""
    if a.size_wh != b.size_wh or a.key != b.key:  # the sampled key differs: certainly changed
        return True
    pa, pb = a.pixels, b.pixels
    if a.channels != b.channels or pa.shape != pb.shape:
        pa, pb = a.bgr(), b.bgr()
    diff = cv2.absdiff(pa, pb).reshape(pa.shape[0], -1)  # every channel value counts
    return cv2.countNonZero(cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)[1]) >= min_pixels


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


def looks_same_at(frame: Frame, box: Box, crop: np.ndarray, scale: tuple[float, float] = (1.0, 1.0),
                  threshold: float = 0.9) -> bool:
    """Whether ``crop`` (resized by ``scale``) appears at ``box`` of ``frame``, give or take a few
    pixels (a locator's box may be a little tighter or looser than the recorded one)."""
    tmpl = _resize(crop, *scale)
    th, tw = tmpl.shape[:2]
    if th < 3 or tw < 3:
        return False
    pad = max(4.0, 0.25 * max(box.width, box.height))
    area = box.expand(pad).clip(frame.width, frame.height)
    if area.width < tw or area.height < th:
        return looks_same(tmpl, frame.crop(box), threshold)
    region = cv2.cvtColor(frame.crop(area), cv2.COLOR_BGR2GRAY)
    g = cv2.cvtColor(tmpl, cv2.COLOR_BGR2GRAY) if tmpl.ndim == 3 else tmpl
    if float(g.std()) < 1.0:  # a flat crop: compare brightness instead
        return looks_same(tmpl, frame.crop(box), threshold)
    res = cv2.matchTemplate(region, g, cv2.TM_CCOEFF_NORMED)
    return float(res.max()) >= threshold
