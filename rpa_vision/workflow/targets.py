"""Finding the element under the pointer when recording: region, crop, text, anchors, window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.logging import get_logger
from rpa_vision.workflow.model import Anchor, Target

log = get_logger(__name__)

RegionsFn = Callable[[Frame], Sequence[Any]]  # regions with .box (frame pixels) and .kind
OcrFn = Callable[[np.ndarray], str]
WindowFn = Callable[[Point], "Box | None"]  # desktop point -> window box in desktop pixels


class TargetFinder:
    """Picks the element at a point: the smallest plausible ROI region, else a fixed patch.

    ``regions`` proposes candidate regions for a frame (the ROI optimizer), ``ocr`` reads the
    text of a crop, ``window_at`` gives the window under a desktop point where the platform
    can tell; all optional. Regions larger than ``max_region_frac`` of the screen (a whole
    panel) or smaller than ``min_side`` pixels are not taken as the target.
    """

    def __init__(
        self,
        regions: RegionsFn | None = None,
        ocr: OcrFn | None = None,
        window_at: WindowFn | None = None,
        *,
        patch: int = 48,
        max_region_frac: float = 0.08,
        max_side_frac: float = 0.5,
        min_side: int = 6,
        anchors: int = 4,
        anchor_radius: float = 320.0,
    ) -> None:
        if patch < 8:
            raise ValidationError("patch must be >= 8 pixels", field="patch")
        self.regions = regions
        self.ocr = ocr
        self.window_at = window_at
        self.patch = patch
        self.max_region_frac = max_region_frac
        self.max_side_frac = max_side_frac
        self.min_side = min_side
        self.n_anchors = anchors
        self.anchor_radius = anchor_radius

    def _read(self, crop: np.ndarray) -> str:
        if self.ocr is None:
            return ""
        try:
            return " ".join(self.ocr(crop).split())
        except (RpaVisionError, ValueError, RuntimeError) as exc:
            log.debug("OCR failed on a crop: %s", exc)
            return ""

    def _fits(self, box: Box, frame: Frame) -> bool:
        w, h = frame.size_wh
        return (box.width >= self.min_side and box.height >= self.min_side
                and box.area <= self.max_region_frac * w * h
                and box.width <= self.max_side_frac * w and box.height <= self.max_side_frac * h)

    def find(self, frame: Frame, point: Point) -> tuple[Target, np.ndarray] | None:
        """The target at desktop ``point`` on ``frame``; None when the point is off the frame."""
        mon = frame.monitor
        local = Point(point.x - mon.left, point.y - mon.top)
        if not frame.bounds.contains(local):
            return None
        regions: Sequence[Any] = ()
        if self.regions is not None:
            try:
                regions = self.regions(frame)
            except RpaVisionError as exc:
                log.warning("region proposals failed: %s", exc)
        box, from_region = None, False
        region = self._region_at(regions, local)
        if region is not None and self._fits(region.box, frame):
            box, from_region = region.box, True
        if box is None:
            half = self.patch * mon.scale / 2.0
            box = Box(local.x - half, local.y - half, local.x + half, local.y + half).clip(frame.width, frame.height)
        crop = frame.crop(box)
        anchors = self._anchors(frame, regions, box)
        window = self.window_at(point) if self.window_at is not None else None
        wbox = rel_w = None
        if window is not None:
            wbox = mon.box_to_local(window)
            if wbox.width > 0 and wbox.height > 0:
                rel_w = ((box.center.x - wbox.x1) / wbox.width, (box.center.y - wbox.y1) / wbox.height)
            else:
                wbox = None
        target = Target(
            crop="target.png", xyxy=box, text=self._read(crop) if from_region else "", anchors=anchors,
            rel_screen=(box.center.x / frame.width, box.center.y / frame.height),
            window_xyxy=wbox, rel_window=rel_w, from_region=from_region,
        )
        return target, crop

    @staticmethod
    def _region_at(regions: Sequence[Any], p: Point) -> Any:
        if not regions:
            return None
        try:
            from rpa_vision.roi import region_at

            return region_at(list(regions), p)
        except ImportError:  # pragma: no cover - roi is part of the library
            hits = [r for r in regions if r.box.contains(p)]
            return min(hits, key=lambda r: r.box.area) if hits else None

    def _anchors(self, frame: Frame, regions: Sequence[Any], box: Box) -> tuple[Anchor, ...]:
        if not regions or self.ocr is None:
            return ()
        near = []
        for r in regions:
            if getattr(r, "kind", "text") != "text" or r.box.contains_box(box) or r.box.iou(box) > 0.5:
                continue
            d = r.box.center.distance(box.center)
            if d <= self.anchor_radius:
                near.append((d, r.box))
        near.sort(key=lambda t: t[0])
        out = []
        for _, b in near[: self.n_anchors * 2]:
            text = self._read(frame.crop(b))
            if text:
                out.append(Anchor(text, b))
            if len(out) >= self.n_anchors:
                break
        return tuple(out)
