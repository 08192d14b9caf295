"""Shared test data: clustered unit vectors (a mixture of Gaussians on the sphere)."""

from __future__ import annotations

import numpy as np

from rpa_vision.index import PrototypeMeta


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int, clusters: int = 20, spread: float = 0.25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(clusters, dim)))
    which = rng.integers(0, clusters, n)
    return unit(centres[which] + spread * rng.normal(size=(n, dim)).astype(np.float32) / np.sqrt(dim) * 4)


def metas(n: int, workflows: int = 3, steps: int = 10, start: int = 0) -> list[PrototypeMeta]:
    return [PrototypeMeta(f"wf{(start + i) % workflows}", (start + i) % steps, "state", f"label {i % 5}",
                          1000.0 + i, "recorded") for i in range(n)]
