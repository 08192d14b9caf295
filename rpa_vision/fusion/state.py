"""The state vector of a screen: a weighted concatenation of L2-normalised blocks.

``[ global | pooled regions | OCR text | window title | layout ]``, each block unit length times
its weight, the whole L2-normalised again. The dimension depends only on the embedding dimension,
``FusionConfig.text_dim`` and ``FusionConfig.layout_grid`` (``state_dim``), never on what a
screen happens to have, so every state vector of one encoder fits one FAISS inner-product index.
A missing block (no regions, no OCR, no title, no layout) is zeros: the other blocks keep their
relative weights. The two embedding blocks come first (an encoder adapter maps exactly those).

The layout block is a weight-free raster of where the window has edges (computed by perception,
``rpa_vision.perception.layout``): it keeps small differences between two states of one window
that an embedding of the whole window, computed from a small picture, does not see.
"""

from __future__ import annotations

import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.fusion.config import FusionConfig

_DEFAULT = FusionConfig()


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` as a float32 vector of length 1 (a zero vector stays zero)."""
    a = np.asarray(v, np.float32).reshape(-1)
    n = float(np.linalg.norm(a))
    return a / n if n > 0 else a


def state_dim(embed_dim: int, config: FusionConfig = _DEFAULT) -> int:
    """The dimension of state vectors built from ``embed_dim``-dimensional embeddings."""
    if embed_dim <= 0:
        raise ValidationError(f"embedding dimension must be > 0, got {embed_dim}", field="embed_dim")
    return 2 * int(embed_dim) + 2 * config.text_dim + config.layout_dim


def _vector(v: object, name: str, dim: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(v, np.float32)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a numeric vector", field=name) from exc
    if a.ndim != 1 or a.size == 0:
        raise ValidationError(f"{name} must be a non-empty 1-D vector, got shape {a.shape}", field=name)
    if dim is not None and a.shape[0] != dim:
        raise ValidationError(f"{name} has dimension {a.shape[0]}, expected {dim}", field=name)
    if not np.all(np.isfinite(a)):
        raise ValidationError(f"{name} has non-finite values", field=name)
    return a


def pool_regions(region_embs: np.ndarray, region_weights: np.ndarray | None = None,
                 config: FusionConfig = _DEFAULT) -> np.ndarray:
    """Pool ``(N, D)`` region embeddings: weighted mean plus, mixed in, the per-dimension max.

    Weights (e.g. region areas or saliency) must be >= 0; all-zero weights mean equal weights.
    Returns a unit vector of length ``D`` (zeros when ``N == 0``)."""
    r = np.asarray(region_embs, np.float32)
    if r.ndim != 2:
        raise ValidationError(f"region embeddings must be (N, D), got shape {r.shape}", field="region_embs")
    if r.shape[0] == 0:
        return np.zeros(r.shape[1], np.float32)
    if not np.all(np.isfinite(r)):
        raise ValidationError("region embeddings have non-finite values", field="region_embs")
    if region_weights is None:
        w = np.ones(r.shape[0], np.float32)
    else:
        w = np.asarray(region_weights, np.float32).reshape(-1)
        if w.shape[0] != r.shape[0]:
            raise ValidationError(f"{w.shape[0]} region weights for {r.shape[0]} regions", field="region_weights")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValidationError("region weights must be finite and >= 0", field="region_weights")
        if float(w.sum()) <= 0:
            w = np.ones(r.shape[0], np.float32)
    mean = unit((w[:, None] * r).sum(axis=0) / float(w.sum()))
    if config.region_max_mix <= 0:
        return mean
    return unit(mean + np.float32(config.region_max_mix) * unit(r.max(axis=0)))


def state_vector(
    global_emb: np.ndarray,
    region_embs: np.ndarray | None = None,
    region_weights: np.ndarray | None = None,
    text_vec: np.ndarray | None = None,
    title_vec: np.ndarray | None = None,
    config: FusionConfig = _DEFAULT,
    layout_vec: np.ndarray | None = None,
) -> np.ndarray:
    """The screen's state vector, float32 and unit length, of dimension ``state_dim(D, config)``."""
    g = _vector(global_emb, "global_emb")
    d = g.shape[0]
    if region_embs is not None:
        r = np.asarray(region_embs, np.float32)
        if r.ndim != 2 or (r.shape[0] > 0 and r.shape[1] != d):
            raise ValidationError(f"region embeddings must be (N, {d}), got shape {r.shape}", field="region_embs")
        pooled = pool_regions(r.reshape(-1, d), region_weights, config)
    else:
        pooled = np.zeros(d, np.float32)
    t = unit(_vector(text_vec, "text_vec", config.text_dim)) if text_vec is not None else np.zeros(config.text_dim,
                                                                                                   np.float32)
    tt = unit(_vector(title_vec, "title_vec", config.text_dim)) if title_vec is not None else np.zeros(
        config.text_dim, np.float32)
    if layout_vec is not None and config.layout_dim > 0:
        lay = unit(_vector(layout_vec, "layout_vec", config.layout_dim))
    else:
        lay = np.zeros(config.layout_dim, np.float32)
    out = np.concatenate([
        unit(g) * np.float32(config.global_weight),
        pooled * np.float32(config.regions_weight),
        t * np.float32(config.text_weight),
        tt * np.float32(config.title_weight),
        lay * np.float32(config.layout_weight),
    ])
    n = float(np.linalg.norm(out))
    if n == 0:
        raise ValidationError("state vector is all zeros (zero global embedding and no other evidence)",
                              field="global_emb")
    return (out / n).astype(np.float32)


def state_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two state vectors (a dot product: they are unit length), in [-1, 1]."""
    va, vb = _vector(a, "a"), _vector(b, "b", None)
    if va.shape != vb.shape:
        raise ValidationError(f"state vectors differ in dimension: {va.shape[0]} vs {vb.shape[0]}", field="b")
    return float(np.clip(np.dot(unit(va), unit(vb)), -1.0, 1.0))
