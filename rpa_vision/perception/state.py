"""The state vector of a screen from its global embedding and pooled region embeddings.

A local, numpy-only rule until ``rpa_vision.fusion`` (which owns the fusion rules) is wired in.
"""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` as float32 scaled to length 1 (a zero vector stays zero)."""
    v = np.asarray(v, np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def local_state_vector(global_embedding: np.ndarray, region_embeddings: np.ndarray | None = None,
                       region_weight: float = 0.5) -> np.ndarray:
    """``unit(g + w * unit(mean(regions)))`` when there are region embeddings, else ``unit(g)``."""
    g = unit(global_embedding)
    if region_embeddings is None or len(region_embeddings) == 0:
        return g
    r = np.asarray(region_embeddings, np.float32)
    if r.ndim != 2 or r.shape[1] != g.shape[0]:
        return g
    return unit(g + np.float32(region_weight) * unit(r.mean(0)))


def state_vector(global_embedding: np.ndarray, region_embeddings: np.ndarray | None = None) -> np.ndarray:
    """The screen's state vector (float32, unit length)."""
    return local_state_vector(global_embedding, region_embeddings)
