"""``FusionConfig``: every weight the fusion rules use, frozen and validated (no literals in code)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from rpa_vision.core.errors import ValidationError

#: The evidence a candidate element can have, in the order ``CandidateEvidence`` lists it.
EVIDENCE_KINDS: tuple[str, ...] = ("visual", "text", "shape", "position", "template")


@dataclass(frozen=True)
class FusionConfig:
    """Weights of the screen state vector and of candidate scoring.

    State vector blocks (each L2-normalised, then scaled by its weight; a missing block is zeros
    so the dimension never changes): the global embedding, the pooled region embeddings, the
    screen's OCR text vector, the window title's text vector and the window's edge layout
    (a ``layout_grid`` x ``layout_grid`` raster; 0 leaves the block out).

    Candidate evidence weights: renormalised over the evidence that is available for a
    candidate, so a missing OCR does not drag every score down.
    """

    global_weight: float = 1.0
    regions_weight: float = 0.7
    text_weight: float = 0.5
    title_weight: float = 0.35
    layout_weight: float = 1.0
    #: Region pooling: ``unit(unit(weighted mean) + region_max_mix * unit(max))``; 0 = mean only.
    region_max_mix: float = 0.5
    #: Dimension of text and title vectors (``rpa_vision.embedding.text.text_vector``'s ``dim``).
    text_dim: int = 256
    #: Side of the layout raster (``rpa_vision.perception.layout``); the block has its square.
    layout_grid: int = 48

    w_visual: float = 0.40
    w_text: float = 0.25
    w_shape: float = 0.10
    w_position: float = 0.10
    w_template: float = 0.15

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "text_dim":
                if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 65536:
                    raise ValidationError(f"text_dim must be an int in [1, 65536], got {v!r}", field="text_dim",
                                          value=v)
                continue
            if f.name == "layout_grid":
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 256:
                    raise ValidationError(f"layout_grid must be an int in [0, 256], got {v!r}",
                                          field="layout_grid", value=v)
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ValidationError(f"{f.name} must be a finite number >= 0, got {v!r}", field=f.name, value=v)
        if self.global_weight + self.regions_weight + self.text_weight + self.title_weight + self.layout_weight <= 0:
            raise ValidationError("at least one state block needs a weight > 0", field="global_weight")
        if sum(self.evidence_weights().values()) <= 0:
            raise ValidationError("at least one evidence weight must be > 0", field="w_visual")

    @property
    def layout_dim(self) -> int:
        """Dimension of the layout block (``layout_grid`` squared)."""
        return self.layout_grid * self.layout_grid

    def evidence_weights(self) -> dict[str, float]:
        return {k: float(getattr(self, f"w_{k}")) for k in EVIDENCE_KINDS}

    def with_(self, **changes: Any) -> FusionConfig:
        """A copy with some values changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FusionConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValidationError(f"unknown fusion setting(s): {', '.join(unknown)}", field="fusion")
        return cls(**d)
