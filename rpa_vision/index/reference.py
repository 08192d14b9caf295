"""The brute-force numpy index: the reference the FAISS index is tested and measured against.

Scores are computed in float64 and rounded to float32; results are ordered by score
(descending), ties by id (ascending). ``PrototypeIndex`` re-ranks its exact (Flat) candidates
with the same ``rank_exact`` so the two agree id for id.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rpa_vision.core.errors import IndexError_, ValidationError
from rpa_vision.index.types import check_vectors


def exact_scores(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``(nq, n)`` cosine scores of unit vectors, accumulated in float64, rounded to float32."""
    q = np.asarray(queries, dtype=np.float64)
    v = np.asarray(vectors, dtype=np.float64)
    return (q @ v.T).astype(np.float32)


def order(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of one query's candidates: score descending, then id ascending."""
    idx = np.lexsort((ids, -scores.astype(np.float64)))[:k]
    return scores[idx], ids[idx]


def rank_exact(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int,
               chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of every query over ``vectors`` (rows named by ``ids``); pads with -1 / -inf."""
    nq = len(queries)
    out_s = np.full((nq, k), -np.inf, np.float32)
    out_i = np.full((nq, k), -1, np.int64)
    if k == 0 or len(ids) == 0:
        return out_s, out_i
    best_s = np.full((nq, 0), -np.inf, np.float32)
    best_i = np.zeros((nq, 0), np.int64)
    for start in range(0, len(ids), chunk):
        sc = exact_scores(queries, vectors[start:start + chunk])
        ch_ids = np.asarray(ids[start:start + chunk], np.int64)
        kk = min(k, sc.shape[1])
        # keep every candidate tied with the k-th best so that tie-breaking by id stays exact
        part = np.partition(-sc, kk - 1, axis=1)[:, kk - 1:kk] * -1
        cand_s, cand_i = [], []
        for qi in range(nq):
            keep = np.flatnonzero(sc[qi] >= part[qi, 0])
            cand_s.append(np.concatenate([best_s[qi], sc[qi, keep]]))
            cand_i.append(np.concatenate([best_i[qi], ch_ids[keep]]))
        width = min(k, max(len(c) for c in cand_s))
        new_s = np.full((nq, width), -np.inf, np.float32)
        new_i = np.full((nq, width), -1, np.int64)
        for qi in range(nq):
            s, i = order(cand_s[qi], cand_i[qi], width)
            new_s[qi, :len(s)], new_i[qi, :len(i)] = s, i
        best_s, best_i = new_s, new_i
    out_s[:, :best_s.shape[1]] = best_s
    out_i[:, :best_i.shape[1]] = best_i
    return out_s, out_i


class BruteForceIndex:
    """Exact inner-product search over unit vectors with caller-chosen int64 ids."""

    def __init__(self, dim: int) -> None:
        if dim <= 0:
            raise ValidationError(f"dimension must be > 0, got {dim}", field="dim")
        self.dim = dim
        self._vecs = np.zeros((0, dim), np.float32)
        self._ids = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def add(self, vectors: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        v = check_vectors(vectors, self.dim, on_unnormalized="reject")
        i = np.asarray(ids, np.int64).reshape(-1)
        if len(i) != len(v):
            raise ValidationError(f"{len(v)} vectors but {len(i)} ids", field="ids")
        if len(np.unique(i)) != len(i) or np.isin(i, self._ids).any():
            raise ValidationError("ids must be new and unique", field="ids")
        self._vecs = np.concatenate([self._vecs, v])
        self._ids = np.concatenate([self._ids, i])

    def remove(self, ids: npt.ArrayLike) -> None:
        i = np.asarray(ids, np.int64).reshape(-1)
        missing = i[~np.isin(i, self._ids)]
        if len(missing):
            raise IndexError_(f"unknown ids {missing[:5].tolist()}", ids=missing.tolist())
        keep = ~np.isin(self._ids, i)
        self._vecs, self._ids = self._vecs[keep], self._ids[keep]

    def search(self, queries: npt.ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = check_vectors(queries, self.dim, what="queries", on_unnormalized="reject")
        if k < 1:
            raise ValidationError(f"k must be >= 1, got {k}", field="k")
        return rank_exact(q, self._vecs, self._ids, k)
