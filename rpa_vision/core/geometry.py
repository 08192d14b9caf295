"""Boxes, points, monitors and the coordinate transforms between them.

One model: physical pixels in the virtual desktop (monitors may have negative origins).
Logical points are physical pixels divided by the monitor's scale factor. Downscaled images
(the ROI optimizer works on at most 1920x1080) map back with an ``ImageTransform``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rpa_vision.core.errors import ValidationError


def _finite(name: str, *values: float) -> None:
    for v in values:
        if not math.isfinite(v):
            raise ValidationError(f"{name} must be finite, got {v!r}", field=name, value=v)


@dataclass(frozen=True, slots=True)
class Point:
    """A point in physical pixels (or in whatever space its owner states)."""

    x: float
    y: float

    def __post_init__(self) -> None:
        _finite("point", self.x, self.y)

    def as_int(self) -> tuple[int, int]:
        return (int(round(self.x)), int(round(self.y)))

    def distance(self, other: Point) -> float:
        return math.hypot(self.x - other.x, self.y - other.y)


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box ``(x1, y1, x2, y2)`` with x2/y2 exclusive, in pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        _finite("box", self.x1, self.y1, self.x2, self.y2)
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValidationError(
                f"box must have x2 >= x1 and y2 >= y1, got {self.as_tuple()}", field="xyxy", value=self
            )

    # construction ---------------------------------------------------------------------
    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        return cls(x, y, x + w, y + h)

    @classmethod
    def from_seq(cls, values: Sequence[float]) -> Box:
        if len(values) != 4:
            raise ValidationError(f"a box needs 4 numbers x1,y1,x2,y2, got {len(values)}", field="xyxy")
        return cls(float(values[0]), float(values[1]), float(values[2]), float(values[3]))

    @classmethod
    def parse(cls, text: str) -> Box:
        """Parse ``"X1,Y1,X2,Y2"`` (the command line's form)."""
        try:
            parts = [float(p) for p in text.split(",")]
        except ValueError as exc:
            raise ValidationError(f"box must be X1,Y1,X2,Y2 numbers, got {text!r}", field="box") from exc
        return cls.from_seq(parts)

    @classmethod
    def union_all(cls, boxes: Iterable[Box]) -> Box:
        bs = list(boxes)
        if not bs:
            raise ValidationError("union of no boxes", field="boxes")
        return cls(min(b.x1 for b in bs), min(b.y1 for b in bs), max(b.x2 for b in bs), max(b.y2 for b in bs))

    # properties -------------------------------------------------------------------------
    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> Point:
        return Point((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    @property
    def aspect(self) -> float:
        """Width over height (0 for a degenerate box)."""
        return self.width / self.height if self.height > 0 else 0.0

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def as_int_tuple(self) -> tuple[int, int, int, int]:
        """Rounded outwards so the integer box covers the real one."""
        return (math.floor(self.x1), math.floor(self.y1), math.ceil(self.x2), math.ceil(self.y2))

    # relations ------------------------------------------------------------------------
    def contains(self, p: Point) -> bool:
        return self.x1 <= p.x < self.x2 and self.y1 <= p.y < self.y2

    def contains_box(self, other: Box) -> bool:
        return self.x1 <= other.x1 and self.y1 <= other.y1 and other.x2 <= self.x2 and other.y2 <= self.y2

    def intersection(self, other: Box) -> Box | None:
        x1, y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        x2, y2 = min(self.x2, other.x2), min(self.y2, other.y2)
        if x2 <= x1 or y2 <= y1:
            return None
        return Box(x1, y1, x2, y2)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        if inter is None:
            return 0.0
        union = self.area + other.area - inter.area
        return inter.area / union if union > 0 else 0.0

    def union(self, other: Box) -> Box:
        return Box(min(self.x1, other.x1), min(self.y1, other.y1), max(self.x2, other.x2), max(self.y2, other.y2))

    # transforms -----------------------------------------------------------------------
    def translate(self, dx: float, dy: float) -> Box:
        return Box(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)

    def scale(self, sx: float, sy: float | None = None) -> Box:
        sy = sx if sy is None else sy
        if sx <= 0 or sy <= 0:
            raise ValidationError(f"scale factors must be > 0, got {sx}, {sy}", field="scale")
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def expand(self, margin: float) -> Box:
        """Grow (or, for a negative margin, shrink down to the centre) on every side."""
        m = max(margin, -min(self.width, self.height) / 2.0)
        return Box(self.x1 - m, self.y1 - m, self.x2 + m, self.y2 + m)

    def clip(self, width: float, height: float, x0: float = 0.0, y0: float = 0.0) -> Box:
        """Clip into ``[x0, x0+width) x [y0, y0+height)``; may become empty (zero area)."""
        x1 = min(max(self.x1, x0), x0 + width)
        y1 = min(max(self.y1, y0), y0 + height)
        x2 = min(max(self.x2, x1), x0 + width)
        y2 = min(max(self.y2, y1), y0 + height)
        return Box(x1, y1, x2, y2)


@dataclass(frozen=True, slots=True)
class Monitor:
    """A monitor (or a grabbed region) of the virtual desktop, in physical pixels.

    ``scale`` is physical pixels per logical point (1.0, 1.25, 2.0 ...). ``index`` follows
    mss: 0 is the union of all monitors, 1..N are the monitors themselves.
    """

    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0
    index: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValidationError(
                f"monitor size must be positive, got {self.width}x{self.height}", field="size_wh"
            )
        if not (math.isfinite(self.scale) and 0.25 <= self.scale <= 8.0):
            raise ValidationError(f"monitor scale must be in [0.25, 8], got {self.scale}", field="scale")

    @property
    def rect(self) -> Box:
        return Box(self.left, self.top, self.left + self.width, self.top + self.height)

    @property
    def size_wh(self) -> tuple[int, int]:
        return (self.width, self.height)

    def contains(self, p: Point) -> bool:
        return self.rect.contains(p)

    # physical desktop <-> monitor-local pixels -----------------------------------------
    def to_local(self, p: Point) -> Point:
        return Point(p.x - self.left, p.y - self.top)

    def to_global(self, p: Point) -> Point:
        return Point(p.x + self.left, p.y + self.top)

    def box_to_local(self, b: Box) -> Box:
        return b.translate(-self.left, -self.top)

    def box_to_global(self, b: Box) -> Box:
        return b.translate(self.left, self.top)

    # physical <-> logical (points), both monitor-local -----------------------------------
    def to_logical(self, p: Point) -> Point:
        return Point(p.x / self.scale, p.y / self.scale)

    def to_physical(self, p: Point) -> Point:
        return Point(p.x * self.scale, p.y * self.scale)


def monitor_at(monitors: Sequence[Monitor], p: Point) -> Monitor | None:
    """The monitor containing a desktop point (the union monitor, index 0, is ignored)."""
    for m in monitors:
        if m.index != 0 and m.contains(p):
            return m
    return None


def virtual_desktop(monitors: Sequence[Monitor]) -> Monitor:
    """The bounding monitor (index 0) of a set of monitors, negative origins included."""
    real = [m for m in monitors if m.index != 0] or list(monitors)
    if not real:
        raise ValidationError("no monitors", field="monitors")
    box = Box.union_all(m.rect for m in real)
    return Monitor(int(box.x1), int(box.y1), int(box.width), int(box.height), 1.0, 0, "all")


@dataclass(frozen=True, slots=True)
class ImageTransform:
    """Maps between a full-resolution image and a resized copy of it.

    ``image = full * scale`` (per axis). ``to_full`` maps boxes found on the resized image back.
    """

    scale_x: float
    scale_y: float

    def __post_init__(self) -> None:
        if not (self.scale_x > 0 and self.scale_y > 0):
            raise ValidationError("image transform scales must be > 0", field="scale")

    @classmethod
    def fit(cls, width: int, height: int, max_width: int, max_height: int) -> ImageTransform:
        """The transform that fits ``width x height`` inside ``max_width x max_height`` (never upscales)."""
        s = min(1.0, max_width / width, max_height / height)
        return cls(s, s)

    @property
    def is_identity(self) -> bool:
        return self.scale_x == 1.0 and self.scale_y == 1.0

    def to_image(self, b: Box) -> Box:
        return b.scale(self.scale_x, self.scale_y)

    def to_full(self, b: Box) -> Box:
        return b.scale(1.0 / self.scale_x, 1.0 / self.scale_y)

    def point_to_full(self, p: Point) -> Point:
        return Point(p.x / self.scale_x, p.y / self.scale_y)

    def point_to_image(self, p: Point) -> Point:
        return Point(p.x * self.scale_x, p.y * self.scale_y)

    def size_image(self, width: int, height: int) -> tuple[int, int]:
        return (max(1, int(round(width * self.scale_x))), max(1, int(round(height * self.scale_y))))
