"""Candidate UI regions of a frame: downscale, propose, merge, label, cache, recompute dirty tiles.

``ROIOptimizer().propose(frame)`` returns an :class:`ROIResult` whose regions are in the frame's
full-resolution pixels. ``region_at(regions, point)`` finds the element under a point.
"""

from rpa_vision.roi.boxes import region_at, regions_near
from rpa_vision.roi.config import ROIConfig
from rpa_vision.roi.optimizer import ROIOptimizer
from rpa_vision.roi.types import REGION_KINDS, Region, RegionKind, ROIError, ROIResult

__all__ = [
    "REGION_KINDS",
    "ROIConfig",
    "ROIError",
    "ROIOptimizer",
    "ROIResult",
    "Region",
    "RegionKind",
    "region_at",
    "regions_near",
]
