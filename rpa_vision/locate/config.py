"""``LocatorConfig``: every threshold, budget and weight of the Locator, frozen and validated."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rpa_vision.core.errors import ValidationError

#: Signals the fusion knows, with their default weights (missing signals are left out).
DEFAULT_WEIGHTS: dict[str, float] = {
    "template": 0.30,
    "context": 0.30,
    "embedding": 0.15,
    "text": 0.20,
    "shape": 0.05,
    "position": 0.08,
    "layout": 0.2,
}

#: Logistic calibration ``p = sigmoid(bias + w_score * score + w_margin * margin + w_context * context)``,
#: fitted on the calibration set (see ``rpa_vision.locate.calibration``).
DEFAULT_CALIBRATION: tuple[float, float, float, float] = (-9.0, 8.0, 14.0, 3.0)


@dataclass(frozen=True)
class LocatorConfig:
    """Knobs of the Locator. The defaults are what the calibration was fitted with."""

    #: Relative scales searched around the prior scale (screen vs. recording).
    scales: tuple[float, ...] = (0.67, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0)
    #: The coarse template search shrinks the screen until the scaled template is this small.
    coarse_min_side: int = 10
    #: Never shrink the screen below this factor in the coarse search.
    coarse_min_factor: float = 0.2
    #: ... and always shrink it at least this much (the refinement works at full resolution).
    coarse_max_factor: float = 0.5
    #: Template peaks kept per scale and their minimum correlation.
    peaks_per_scale: int = 20
    peak_threshold: float = 0.3
    #: How many candidates get cheap scoring and how many get the expensive signals.
    max_candidates: int = 100
    expensive_top: int = 12
    ocr_top: int = 4
    #: ... more batches of ``ocr_top`` are read while no read text matches, up to this many crops.
    ocr_budget: int = 12
    #: OCR reads only candidates whose score is within this of the best (at least the best).
    ocr_window: float = 0.12
    use_ocr: bool = True
    use_contours: bool = True
    #: Surroundings compared for look-alikes: the box grown by this many box sizes on each side.
    context_factor: float = 1.5
    nms_iou: float = 0.4
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    calibration: tuple[float, float, float, float] = DEFAULT_CALIBRATION
    #: Confidence never exceeds sigmoid(ambiguity_gain * margin to the runner-up): 0.5 at a tie.
    ambiguity_gain: float = 40.0
    #: Confidence at and above which a caller may act without asking (the replayer's default).
    act_threshold: float = 0.8
    #: Candidates below this fused score are dropped from results.
    min_score: float = 0.05

    def __post_init__(self) -> None:
        if not self.scales or any(not (math.isfinite(s) and 0.1 <= s <= 8.0) for s in self.scales):
            raise ValidationError("scales must be a non-empty tuple of values in [0.1, 8]", field="scales")
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))
        for name in ("coarse_min_side", "peaks_per_scale", "max_candidates", "expensive_top"):
            if int(getattr(self, name)) < 1:
                raise ValidationError(f"{name} must be >= 1", field=name)
        if self.ocr_top < 0 or self.ocr_budget < 1:
            raise ValidationError("ocr_top must be >= 0 and ocr_budget >= 1", field="ocr_top")
        for name in ("peak_threshold", "nms_iou", "ocr_window", "act_threshold", "min_score"):
            v = float(getattr(self, name))
            if not (0.0 <= v <= 1.0):
                raise ValidationError(f"{name} must be in [0, 1], got {v}", field=name)
        if not (0.01 <= self.coarse_min_factor <= self.coarse_max_factor <= 1.0):
            raise ValidationError("need 0.01 <= coarse_min_factor <= coarse_max_factor <= 1", field="coarse_min_factor")
        if not (math.isfinite(self.ambiguity_gain) and self.ambiguity_gain > 0):
            raise ValidationError("ambiguity_gain must be > 0", field="ambiguity_gain")
        if not (0.0 < self.context_factor <= 5.0):
            raise ValidationError("context_factor must be in (0, 5]", field="context_factor")
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValidationError(
                f"unknown signal weight(s) {sorted(unknown)}; valid: {sorted(DEFAULT_WEIGHTS)}", field="weights"
            )
        if any(not (math.isfinite(w) and w >= 0) for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValidationError("weights must be finite, >= 0 and not all zero", field="weights")
        object.__setattr__(self, "weights", dict(self.weights))
        if len(self.calibration) != 4 or any(not math.isfinite(c) for c in self.calibration):
            raise ValidationError("calibration must be 4 finite numbers", field="calibration")
        object.__setattr__(self, "calibration", tuple(float(c) for c in self.calibration))
