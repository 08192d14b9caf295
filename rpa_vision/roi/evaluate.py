"""Proposal quality against ground-truth boxes: recall at an IoU threshold, and the misses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rpa_vision.core.geometry import Box
from rpa_vision.roi.types import Region


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), both xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    a = a.astype(np.float64)[:, None, :]
    b = b.astype(np.float64)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass(frozen=True)
class RecallReport:
    recall: float
    found: int
    total: int
    proposals: int
    misses: tuple[tuple[Box, float], ...]  # ground-truth box and its best IoU


def recall_at(regions: Sequence[Region] | Sequence[Box], truth: Sequence[Box], iou: float = 0.5) -> RecallReport:
    """Fraction of ground-truth boxes with a proposal overlapping it by at least ``iou``."""
    boxes = [r.box if isinstance(r, Region) else r for r in regions]
    if not truth:
        return RecallReport(1.0, 0, 0, len(boxes), ())
    pa = np.array([b.as_tuple() for b in boxes], np.float64).reshape(-1, 4)
    ta = np.array([b.as_tuple() for b in truth], np.float64).reshape(-1, 4)
    best = iou_matrix(ta, pa).max(1) if len(pa) else np.zeros(len(ta))
    ok = best >= iou
    misses = tuple((truth[int(i)], float(best[i])) for i in np.nonzero(~ok)[0])
    return RecallReport(float(ok.mean()), int(ok.sum()), len(truth), len(boxes), misses)
