"""The Perceiver's link to the fusion rules (``rpa_vision.fusion``): the state vector of a screen."""

from __future__ import annotations

import numpy as np

from rpa_vision.fusion import FusionConfig, state_dim, unit
from rpa_vision.fusion import state_vector as fused_state_vector

__all__ = ["screen_state_vector", "state_dim", "unit"]


def screen_state_vector(global_embedding: np.ndarray, region_embeddings: np.ndarray | None,
                        region_weights: np.ndarray | None, config: FusionConfig,
                        layout: np.ndarray | None = None) -> np.ndarray:
    """The fused state vector (float32, unit length, ``state_dim(D, config)`` long) from the
    global embedding, when some were pooled, region embeddings weighted by their scores, and the
    window's layout vector (``rpa_vision.perception.layout``)."""
    if region_embeddings is not None and len(region_embeddings) == 0:
        region_embeddings = region_weights = None
    return fused_state_vector(global_embedding, region_embeddings, region_weights, None, None, config, layout)
