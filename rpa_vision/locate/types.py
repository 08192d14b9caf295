"""The Locator's value types: what to find (``TargetSpec``), what was found (``Candidate``) and how
(``LocatorConfig``). Frozen and validated; images are BGR ``uint8`` arrays.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.core.frame import to_bgr, validate_image
from rpa_vision.core.geometry import Box


class LocateError(RpaVisionError):
    """Locating could not run (a backend failed in a way the caller should hear about)."""


def as_bgr(image: object, name: str) -> np.ndarray:
    """Validate an image and return it as contiguous HxWx3 BGR (gray and BGRA are converted)."""
    arr = validate_image(image, name)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr)
    return to_bgr(arr, "BGRA" if arr.ndim == 3 and arr.shape[2] == 4 else "GRAY")


@dataclass(frozen=True, slots=True)
class Anchor:
    """A text label near the target, with its box in the reference screen's pixels."""

    text: str
    box: Box

    def __post_init__(self) -> None:
        if not isinstance(self.box, Box):
            raise ValidationError("anchor box must be a Box", field="anchors")
        if self.box.area <= 0:
            raise ValidationError(f"anchor {self.text!r} has an empty box", field="anchors")


@dataclass(frozen=True, eq=False)
class TargetSpec:
    """A recorded element to find again.

    ``crop`` is the element as recorded (BGR), ``box`` its box in the reference screen's pixels.
    ``reference`` (the whole recorded screen) gives surroundings and anchors; without it only the
    crop's own appearance (and ``text``) can be used. ``text`` left as ``None`` is read by OCR
    lazily when the locator has OCR; ``""`` means "the element has no text".
    """

    crop: np.ndarray
    box: Box
    reference: np.ndarray | None = None
    text: str | None = None
    anchors: tuple[Anchor, ...] = ()
    window_box: Box | None = None
    last_box: Box | None = None
    embedding: np.ndarray | None = None
    reference_scale: float = 1.0
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "crop", as_bgr(self.crop, "target crop"))
        if not isinstance(self.box, Box):
            raise ValidationError("target box must be a Box", field="box")
        if self.box.width < 1 or self.box.height < 1:
            raise ValidationError(f"target box {self.box.as_tuple()} is empty", field="box")
        if self.reference is not None:
            ref = as_bgr(self.reference, "reference")
            object.__setattr__(self, "reference", ref)
            h, w = ref.shape[:2]
            inside = self.box.clip(w, h)
            if inside.width < 1 or inside.height < 1:
                raise ValidationError(
                    f"target box {self.box.as_tuple()} lies outside the {w}x{h} reference", field="box"
                )
        if self.text is not None and not isinstance(self.text, str):
            raise ValidationError("target text must be a string or None", field="text")
        anchors = tuple(self.anchors)
        for a in anchors:
            if not isinstance(a, Anchor):
                raise ValidationError("anchors must be Anchor(text, box) values", field="anchors")
        object.__setattr__(self, "anchors", anchors)
        for name in ("window_box", "last_box"):
            b = getattr(self, name)
            if b is not None and (not isinstance(b, Box) or b.area <= 0):
                raise ValidationError(f"{name} must be a non-empty Box or None", field=name)
        if self.embedding is not None:
            emb = np.asarray(self.embedding, dtype=np.float32).ravel()
            if emb.size == 0 or not np.all(np.isfinite(emb)):
                raise ValidationError("target embedding must be a finite non-empty vector", field="embedding")
            object.__setattr__(self, "embedding", emb)
        if not (math.isfinite(self.reference_scale) and 0.25 <= self.reference_scale <= 8.0):
            raise ValidationError(
                f"reference_scale must be in [0.25, 8], got {self.reference_scale}", field="reference_scale"
            )

    @classmethod
    def from_reference(
        cls,
        reference_bgr: np.ndarray,
        box: Box,
        *,
        text: str | None = None,
        anchors: tuple[Anchor, ...] = (),
        window_box: Box | None = None,
        last_box: Box | None = None,
        embedding: np.ndarray | None = None,
        reference_scale: float = 1.0,
    ) -> TargetSpec:
        """Cut the crop at ``box`` of a full recorded screen (text is read lazily when ``None``)."""
        ref = as_bgr(reference_bgr, "reference")
        if not isinstance(box, Box):
            raise ValidationError("box must be a Box", field="box")
        h, w = ref.shape[:2]
        if box.width < 1 or box.height < 1:
            raise ValidationError(f"box {box.as_tuple()} is empty", field="box")
        if not Box(0, 0, w, h).contains_box(box):
            raise ValidationError(f"box {box.as_tuple()} is not inside the {w}x{h} reference", field="box")
        x1, y1, x2, y2 = box.as_int_tuple()
        crop = np.ascontiguousarray(ref[y1:y2, x1:x2])
        return cls(crop, box, ref, text, anchors, window_box, last_box, embedding, reference_scale)

    def cached(self, key: str, factory: Any) -> Any:
        """A lazily computed, per-target value (OCR text, features); computed once, thread-safe."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory()
            return self._cache[key]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place where the target may be, in the screen's pixels, best first in a result list.

    ``confidence`` is the calibrated probability that this candidate is the target (see the
    package docstring), ``score`` the raw fused score, ``evidence`` the per-signal similarities
    in [0, 1] and ``scale`` the estimated size of the element relative to the recorded crop.
    """

    box: Box
    confidence: float
    score: float
    evidence: dict[str, float]
    scale: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValidationError(f"confidence must be in [0, 1], got {self.confidence}", field="confidence")
        if not math.isfinite(self.score):
            raise ValidationError("score must be finite", field="score")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValidationError(f"scale must be > 0, got {self.scale}", field="scale")

    def to_json(self) -> dict[str, Any]:
        return {
            "xyxy": [round(v, 1) for v in self.box.as_tuple()],
            "confidence": round(self.confidence, 4),
            "score": round(self.score, 4),
            "evidence": {k: round(float(v), 4) for k, v in sorted(self.evidence.items())},
            "scale": round(self.scale, 4),
        }
