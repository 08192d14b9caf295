"""The ROI optimizer's settings: one frozen, validated dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rpa_vision.core.errors import ValidationError


def _frac(name: str, value: float, lo: float = 0.0, hi: float = 1.0) -> None:
    if not (math.isfinite(value) and lo < value <= hi):
        raise ValidationError(f"{name} must be in ({lo}, {hi}], got {value!r}", field=name, value=value)


@dataclass(frozen=True)
class ROIConfig:
    """Settings of :class:`~rpa_vision.roi.optimizer.ROIOptimizer`.

    Sizes given as fractions scale with the frame: ``min_box_frac=(0.004, 0.007)`` is about
    8x8 px on 1920x1080 and on a 4K frame alike (both are analysed at 1920x1080).

    - ``max_size``: the working image is at most this big (``cv2.INTER_AREA`` downscale).
    - ``min_box_frac`` / ``max_box_frac``: (width, height) of a region as fractions of the frame.
    - ``nms_iou``: boxes overlapping a better one by more than this are dropped.
    - ``edge_threshold``: morphological-gradient level (0-255) that counts as an edge.
    - ``mser`` / ``mser_scale``: find text-like blobs with MSER on a copy this much smaller than
      the working image (costly; off by default, the edge grouping already finds text lines).
    - ``flat_widgets``: padded boxes around icons and labels that no outline encloses (tool
      buttons, tabs, menu titles: the clickable area is larger than what is drawn).
    - ``fine_cells``: on frames analysed at most 0.8x their size, read the full-resolution pixels
      again inside small closed outlines with a separator inside (tight grids of small cells
      that the downscale merges) and add the cells found there.
    - ``tile_px`` / ``tile_margin_px``: incremental mode recomputes the working-image tiles
      touched by dirty rectangles, each analysed with this much context around it.
    - ``incremental_max_frac``: above this fraction of dirty tiles a full run is cheaper.
    - ``cache_entries``: results kept by frame key (LRU).
    - ``max_regions``: at most this many regions per frame, best scores first.
    """

    max_size: tuple[int, int] = (1920, 1080)
    min_box_frac: tuple[float, float] = (0.004, 0.007)
    max_box_frac: tuple[float, float] = (0.98, 0.98)
    nms_iou: float = 0.7
    edge_threshold: int = 24
    mser: bool = False
    flat_widgets: bool = True
    mser_scale: float = 0.5
    fine_cells: bool = True
    tile_px: int = 128
    tile_margin_px: int = 48
    incremental_max_frac: float = 0.5
    cache_entries: int = 32
    max_regions: int = 2000

    def __post_init__(self) -> None:
        mw, mh = self.max_size
        if not (isinstance(mw, int) and isinstance(mh, int) and 16 <= mw <= 16384 and 16 <= mh <= 16384):
            raise ValidationError(f"max_size must be two ints in [16, 16384], got {self.max_size!r}",
                                  field="max_size", value=self.max_size)
        for i, v in enumerate(self.min_box_frac):
            _frac(f"min_box_frac[{i}]", v, 0.0, 0.5)
        for i, v in enumerate(self.max_box_frac):
            _frac(f"max_box_frac[{i}]", v)
            if v <= self.min_box_frac[i]:
                raise ValidationError("max_box_frac must exceed min_box_frac", field="max_box_frac", value=v)
        _frac("nms_iou", self.nms_iou)
        _frac("mser_scale", self.mser_scale)
        _frac("incremental_max_frac", self.incremental_max_frac)
        if not (isinstance(self.edge_threshold, int) and 1 <= self.edge_threshold <= 254):
            raise ValidationError(f"edge_threshold must be an int in [1, 254], got {self.edge_threshold!r}",
                                  field="edge_threshold", value=self.edge_threshold)
        if not (isinstance(self.tile_px, int) and 16 <= self.tile_px <= 4096):
            raise ValidationError(f"tile_px must be an int in [16, 4096], got {self.tile_px!r}", field="tile_px")
        if not (isinstance(self.tile_margin_px, int) and 0 <= self.tile_margin_px <= 1024):
            raise ValidationError(f"tile_margin_px must be an int in [0, 1024], got {self.tile_margin_px!r}",
                                  field="tile_margin_px")
        if not (isinstance(self.cache_entries, int) and self.cache_entries >= 0):
            raise ValidationError(f"cache_entries must be an int >= 0, got {self.cache_entries!r}",
                                  field="cache_entries")
        if not (isinstance(self.max_regions, int) and self.max_regions >= 1):
            raise ValidationError(f"max_regions must be an int >= 1, got {self.max_regions!r}", field="max_regions")
