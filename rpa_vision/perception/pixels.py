"""Pixels for encoders: the frame's thumbnail and region crops, reduced cheaply before any copy."""

from __future__ import annotations

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Channels, Frame, to_bgr
from rpa_vision.core.geometry import Box


def fit_bgr(pixels: np.ndarray, channels: Channels, size_wh: tuple[int, int]) -> np.ndarray:
    """``pixels`` (any channel order, any strides) as BGR fitted inside ``size_wh``, never
    upscaled: exact 2x area steps (OpenCV's fast path) while they fit, then one bilinear step of
    less than 2x (non-integer area resizes are slow). Big images are reduced before conversion."""
    px = pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    h, w = px.shape[:2]
    s = min(1.0, size_wh[0] / w, size_wh[1] / h)
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    while px.shape[1] >= 2 * size[0] and px.shape[0] >= 2 * size[1]:
        hh, ww = px.shape[0] // 2, px.shape[1] // 2
        px = cv2.resize(px[: 2 * hh, : 2 * ww], (ww, hh), interpolation=cv2.INTER_AREA)
    if (px.shape[1], px.shape[0]) != size:
        px = cv2.resize(px, size, interpolation=cv2.INTER_LINEAR)
    return to_bgr(px, channels)


def thumbnail(frame: Frame, size_wh: tuple[int, int]) -> np.ndarray:
    """The whole frame as BGR fitted inside ``size_wh``."""
    return fit_bgr(frame.pixels, frame.channels, size_wh)


def region_pixels(frame: Frame, box: Box, max_px: int | None) -> np.ndarray:
    """BGR pixels inside ``box`` (clipped), longer side at most ``max_px``."""
    x1, y1, x2, y2 = box.clip(frame.width, frame.height).as_int_tuple()
    if x2 <= x1 or y2 <= y1:
        raise ValidationError(f"box {box.as_tuple()} lies outside the {frame.width}x{frame.height} frame",
                              field="box")
    limit = (x2 - x1, y2 - y1) if max_px is None else (max_px, max_px)
    return fit_bgr(frame.pixels[y1:y2, x1:x2], frame.channels, limit)


def fit_box(frame: Frame, box: Box | None, size_wh: tuple[int, int], reduced: np.ndarray | None = None) -> np.ndarray:
    """BGR pixels inside ``box`` (the whole frame when None) fitted inside ``size_wh``.

    ``reduced`` is an optional BGR copy of the whole frame shrunk uniformly (``fit_bgr``); when
    it still holds the box with at least the pixels the result needs, the result is cut from it
    rather than reduced again from the full-resolution pixels (a 4K frame costs several
    milliseconds per reduction)."""
    if box is None:
        x1, y1, x2, y2 = 0, 0, frame.width, frame.height
    else:
        x1, y1, x2, y2 = box.clip(frame.width, frame.height).as_int_tuple()
    if x2 <= x1 or y2 <= y1:
        raise ValidationError(f"box {box.as_tuple() if box else None} lies outside the frame", field="box")
    need = min(1.0, size_wh[0] / (x2 - x1), size_wh[1] / (y2 - y1))
    if reduced is not None and reduced.ndim == 3 and reduced.shape[2] == 3:
        rs = reduced.shape[1] / frame.width
        if rs < 1.0 and rs >= need:
            rx1, ry1 = int(round(x1 * rs)), int(round(y1 * rs))
            rx2, ry2 = max(rx1 + 1, int(round(x2 * rs))), max(ry1 + 1, int(round(y2 * rs)))
            return fit_bgr(reduced[ry1:ry2, rx1:rx2], "BGR", size_wh)
    return fit_bgr(frame.pixels[y1:y2, x1:x2], frame.channels, size_wh)

