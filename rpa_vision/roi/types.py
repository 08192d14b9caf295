"""What the ROI optimizer hands out: regions (box, kind, score) and the result of one frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.core.geometry import Box, ImageTransform

RegionKind = Literal["text", "widget", "container", "icon"]
REGION_KINDS: tuple[str, ...] = get_args(RegionKind)


class ROIError(RpaVisionError):
    """The ROI optimizer was given something it cannot work on."""


@dataclass(frozen=True, slots=True)
class Region:
    """A candidate UI element.

    ``box`` is in full-resolution pixels of the frame it was found in, frame-local: ``(0, 0)``
    is the frame's top-left pixel (add ``frame.monitor.left/top`` for desktop coordinates).
    ``score`` in [0, 1] says how element-like the region looks (closed border, text density).
    """

    box: Box
    kind: RegionKind
    score: float
    #: A padded box around an icon or label with no outline of its own (a flat widget's likely
    #: clickable area), not something drawn: a hypothesis that point look-ups consider last.
    padded: bool = False

    def __post_init__(self) -> None:
        if self.kind not in REGION_KINDS:
            raise ValidationError(f"region kind must be one of {REGION_KINDS}, got {self.kind!r}", field="kind")
        if not (0.0 <= self.score <= 1.0):
            raise ValidationError(f"region score must be in [0, 1], got {self.score}", field="score")
        if self.box.width <= 0 or self.box.height <= 0:
            raise ValidationError(f"region box is empty: {self.box.as_tuple()}", field="box")


@dataclass(frozen=True)
class ROIResult:
    """The regions of one frame and how they were obtained.

    ``transform`` maps full-resolution frame pixels to the working image the optimizer analysed
    (``transform.to_image(box)``); the regions themselves are already in full-resolution pixels.
    ``cached`` is true when the result came from the cache (same frame key), ``incremental`` when
    only the tiles around dirty rectangles were recomputed.
    """

    regions: tuple[Region, ...]
    frame_key: str
    transform: ImageTransform
    timings_ms: dict[str, float] = field(default_factory=dict)
    cached: bool = False
    incremental: bool = False

    def __len__(self) -> int:
        return len(self.regions)

    def boxes(self) -> list[Box]:
        return [r.box for r in self.regions]

    def of_kind(self, *kinds: RegionKind) -> tuple[Region, ...]:
        return tuple(r for r in self.regions if r.kind in kinds)
