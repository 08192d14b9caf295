"""A captured screen image with the facts needed to map it back to the desktop."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box, Monitor

Channels = Literal["BGR", "BGRA", "RGB", "RGBA", "GRAY"]
_NCH: dict[str, int] = {"BGR": 3, "BGRA": 4, "RGB": 3, "RGBA": 4, "GRAY": 1}

#: How many pixels the frame key samples at most (a strided grid, not the whole buffer).
FRAME_KEY_SAMPLES = 64 * 1024


def frame_key(pixels: np.ndarray, samples: int = FRAME_KEY_SAMPLES) -> str:
    """A cheap content key: a hash of a strided grid of pixels plus the shape.

    A 4K BGRA frame is 33 MB; hashing all of it costs ~20 ms. A grid of ~64k pixels costs well
    under a millisecond and still changes when anything larger than the grid step changes. Use
    change detection (``rpa_vision.capture.change``) when single-pixel changes matter.
    """
    if pixels.ndim < 2 or pixels.size == 0:
        raise ValidationError("cannot key an empty image", field="pixels")
    h, w = pixels.shape[:2]
    step = max(1, int(np.sqrt(h * w / max(1, samples))))
    # Offset the grid by half a step so it does not only see borders on aligned layouts.
    off = step // 2
    grid = np.ascontiguousarray(pixels[off::step, off::step])
    hsh = hashlib.blake2b(grid.data, digest_size=12)
    hsh.update(repr((pixels.shape, str(pixels.dtype), step)).encode())
    return hsh.hexdigest()


def content_hash(pixels: np.ndarray) -> str:
    """A full hash of an image (for small crops: cache keys of embeddings, OCR)."""
    arr = np.ascontiguousarray(pixels)
    hsh = hashlib.blake2b(arr.data, digest_size=16)
    hsh.update(repr((arr.shape, str(arr.dtype))).encode())
    return hsh.hexdigest()


def validate_image(pixels: object, name: str = "image") -> np.ndarray:
    """Check that ``pixels`` is a non-empty uint8 HxW, HxWx1, HxWx3 or HxWx4 array."""
    if not isinstance(pixels, np.ndarray):
        raise ValidationError(f"{name} must be a numpy array, got {type(pixels).__name__}", field=name)
    if pixels.dtype != np.uint8:
        raise ValidationError(f"{name} must be uint8, got {pixels.dtype}", field=name)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)):
        raise ValidationError(f"{name} must be HxW, HxWx1, HxWx3 or HxWx4, got shape {pixels.shape}", field=name)
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValidationError(f"{name} is empty (shape {pixels.shape})", field=name)
    return pixels


def to_bgr(pixels: np.ndarray, channels: Channels) -> np.ndarray:
    """A contiguous HxWx3 BGR uint8 copy or view of any supported image."""
    validate_image(pixels)
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        g = pixels.reshape(pixels.shape[0], pixels.shape[1])
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if channels in ("BGR", "BGRA"):
        out = pixels[:, :, :3]
    else:  # RGB / RGBA
        out = pixels[:, :, 2::-1]
    return np.ascontiguousarray(out)


def to_gray(pixels: np.ndarray, channels: Channels) -> np.ndarray:
    """HxW uint8 luminance (ITU-R BT.601 weights), without needing OpenCV."""
    validate_image(pixels)
    if pixels.ndim == 2:
        return np.ascontiguousarray(pixels)
    if pixels.shape[2] == 1:
        return np.ascontiguousarray(pixels[:, :, 0])
    bgr = to_bgr(pixels, channels).astype(np.uint16)
    g = (bgr[:, :, 0] * 29 + bgr[:, :, 1] * 150 + bgr[:, :, 2] * 77) >> 8
    return g.astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Frame:
    """Pixels of a monitor (or region) at one moment.

    ``monitor`` is the grabbed rectangle in desktop physical pixels and its scale factor; pixel
    ``(0, 0)`` of ``pixels`` is the desktop point ``(monitor.left, monitor.top)``.
    """

    pixels: np.ndarray
    channels: Channels
    monitor: Monitor
    timestamp: float = field(default_factory=time.time)
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        validate_image(self.pixels, "frame pixels")
        if self.channels not in _NCH:
            raise ValidationError(f"unknown channel order {self.channels!r}", field="channels")
        nch = 1 if self.pixels.ndim == 2 else self.pixels.shape[2]
        if nch != _NCH[self.channels]:
            raise ValidationError(
                f"pixels have {nch} channel(s) but channels={self.channels!r}", field="channels"
            )
        h, w = self.pixels.shape[:2]
        if (w, h) != (self.monitor.width, self.monitor.height):
            raise ValidationError(
                f"pixels are {w}x{h} but the monitor region is {self.monitor.width}x{self.monitor.height}",
                field="size_wh",
            )
        if not self.key:
            object.__setattr__(self, "key", frame_key(self.pixels))

    @classmethod
    def from_array(
        cls,
        pixels: np.ndarray,
        channels: Channels = "BGR",
        *,
        left: int = 0,
        top: int = 0,
        scale: float = 1.0,
        timestamp: float | None = None,
    ) -> Frame:
        """A frame from an image array, placed at ``(left, top)`` of the desktop."""
        validate_image(pixels, "frame pixels")
        h, w = pixels.shape[:2]
        mon = Monitor(left, top, w, h, scale=scale, index=1)
        return cls(pixels, channels, mon, time.time() if timestamp is None else timestamp)

    @property
    def size_wh(self) -> tuple[int, int]:
        return (int(self.pixels.shape[1]), int(self.pixels.shape[0]))

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def bounds(self) -> Box:
        """The frame's own pixel rectangle ``(0, 0, w, h)``."""
        return Box(0, 0, self.width, self.height)

    def bgr(self) -> np.ndarray:
        return to_bgr(self.pixels, self.channels)

    def gray(self) -> np.ndarray:
        return to_gray(self.pixels, self.channels)

    def crop(self, box: Box) -> np.ndarray:
        """BGR pixels inside ``box`` (frame pixel coordinates, clipped to the frame)."""
        x1, y1, x2, y2 = box.clip(self.width, self.height).as_int_tuple()
        if x2 <= x1 or y2 <= y1:
            raise ValidationError(
                f"box {box.as_tuple()} lies outside the {self.width}x{self.height} frame", field="box"
            )
        return to_bgr(self.pixels[y1:y2, x1:x2], self.channels)
