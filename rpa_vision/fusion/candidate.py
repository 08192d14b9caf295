"""Scoring a candidate element from its evidence: visual, text, shape, position, template.

Every piece of evidence is a similarity in [0, 1], or None when it is not available (no OCR,
no template match computed, ...). ``score_candidate`` is the weighted mean over the evidence
that *is* available, so missing evidence neither rewards nor punishes a candidate;
``evidence_coverage`` says how much of the total weight was available (a calibration input).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box
from rpa_vision.fusion.config import EVIDENCE_KINDS, FusionConfig

_DEFAULT = FusionConfig()


def _check_unit_interval(name: str, v: float | None) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValidationError(f"{name} must be a number in [0, 1] or None, got {v!r}", field=name, value=v)
    fv = float(v)
    if not math.isfinite(fv) or fv < 0.0 or fv > 1.0:
        raise ValidationError(f"{name} must be in [0, 1], got {v!r}", field=name, value=v)
    return fv


@dataclass(frozen=True)
class CandidateEvidence:
    """Similarities of a candidate to the recorded target, each in [0, 1] or None."""

    visual_sim: float | None = None
    text_sim: float | None = None
    shape_sim: float | None = None
    position_sim: float | None = None
    template_sim: float | None = None

    def __post_init__(self) -> None:
        for k in EVIDENCE_KINDS:
            object.__setattr__(self, f"{k}_sim", _check_unit_interval(f"{k}_sim", getattr(self, f"{k}_sim")))

    def available(self) -> dict[str, float]:
        return {k: v for k in EVIDENCE_KINDS if (v := getattr(self, f"{k}_sim")) is not None}


def score_candidate(evidence: CandidateEvidence, config: FusionConfig = _DEFAULT) -> float:
    """Weighted mean of the available evidence, in [0, 1]. No usable evidence is an error."""
    weights = config.evidence_weights()
    num = den = 0.0
    for k, v in evidence.available().items():
        num += weights[k] * v
        den += weights[k]
    if den <= 0:
        raise ValidationError("a candidate needs at least one piece of evidence with a weight > 0",
                              field="evidence")
    return min(1.0, max(0.0, num / den))


def evidence_coverage(evidence: CandidateEvidence, config: FusionConfig = _DEFAULT) -> float:
    """The share of the total evidence weight that this candidate had, in [0, 1]."""
    weights = config.evidence_weights()
    total = sum(weights.values())
    return sum(weights[k] for k in evidence.available()) / total


def visual_similarity(cosine: float) -> float:
    """Map a cosine similarity in [-1, 1] to [0, 1] (clipped at 0: anti-correlated is unlike)."""
    c = float(cosine)
    if not math.isfinite(c):
        raise ValidationError(f"cosine must be finite, got {cosine!r}", field="cosine")
    return min(1.0, max(0.0, c))


def _box(b: Box | Sequence[float], name: str) -> Box:
    if isinstance(b, Box):
        return b
    try:
        return Box.from_seq([float(x) for x in b])
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a Box or x1,y1,x2,y2", field=name) from exc


def shape_similarity(box_a: Box | Sequence[float], box_b: Box | Sequence[float], *, scale: float = 1.0,
                     aspect_tolerance: float = 0.25, size_tolerance: float = 0.5) -> float:
    """How alike two boxes are in aspect ratio and size, in [0, 1].

    ``scale`` is the expected linear scale from ``a`` to ``b`` (screen vs recording), so a box
    that grew by exactly that factor keeps a size similarity of 1. Tolerances are log-ratios at
    which each factor falls to 1/e."""
    a, b = _box(box_a, "box_a"), _box(box_b, "box_b")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValidationError(f"scale must be > 0, got {scale!r}", field="scale")
    if aspect_tolerance <= 0 or size_tolerance <= 0:
        raise ValidationError("tolerances must be > 0", field="tolerance")
    if a.width <= 0 or a.height <= 0 or b.width <= 0 or b.height <= 0:
        return 0.0
    d_aspect = abs(math.log((b.width / b.height) / (a.width / a.height)))
    d_size = abs(math.log(math.sqrt(b.area / a.area) / scale))
    return math.exp(-d_aspect / aspect_tolerance) * math.exp(-d_size / size_tolerance)


def position_similarity(box_a: Box | Sequence[float], box_b: Box | Sequence[float],
                        ref_a: Box | Sequence[float] | None = None, ref_b: Box | Sequence[float] | None = None,
                        *, tolerance: float = 0.08, tolerance_px: float = 48.0) -> float:
    """How close two boxes' centres are, in [0, 1] (Gaussian fall-off).

    With reference boxes (the window or screen each box lives in) the centres are compared in
    coordinates relative to them, so a window that moved or was resized does not count, and
    ``tolerance`` is a fraction of the reference size. Without, the distance is in pixels and
    ``tolerance_px`` applies."""
    a, b = _box(box_a, "box_a"), _box(box_b, "box_b")
    if tolerance <= 0 or tolerance_px <= 0:
        raise ValidationError("tolerances must be > 0", field="tolerance")
    if (ref_a is None) != (ref_b is None):
        raise ValidationError("give both reference boxes or neither", field="ref_a")
    if ref_a is not None and ref_b is not None:
        ra, rb = _box(ref_a, "ref_a"), _box(ref_b, "ref_b")
        if ra.width <= 0 or ra.height <= 0 or rb.width <= 0 or rb.height <= 0:
            raise ValidationError("reference boxes must have a positive size", field="ref_a")
        ax, ay = (a.center.x - ra.x1) / ra.width, (a.center.y - ra.y1) / ra.height
        bx, by = (b.center.x - rb.x1) / rb.width, (b.center.y - rb.y1) / rb.height
        d = math.hypot(ax - bx, ay - by) / tolerance
    else:
        d = a.center.distance(b.center) / tolerance_px
    return math.exp(-0.5 * d * d)
