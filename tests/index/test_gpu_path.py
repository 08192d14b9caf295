"""The GPU path with a stand-in for GPU FAISS (a CPU clone), since GPU FAISS is optional."""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np
import pytest

from rpa_vision.core.errors import DependencyMissingError
from rpa_vision.index import IndexConfig, PrototypeIndex, Provenance
from rpa_vision.index import gpu as gpu_mod

from .helpers import clustered, metas

D = 16


def test_cpu_only_faiss_reports_no_gpu() -> None:
    if hasattr(faiss, "StandardGpuResources"):
        pytest.skip("this FAISS build has GPU support")
    assert gpu_mod.gpu_count() == 0
    assert PrototypeIndex(Provenance("t", D)).stats()["gpu"] is False
    with pytest.raises(DependencyMissingError, match="GPU FAISS"):
        PrototypeIndex(Provenance("t", D), IndexConfig(use_gpu="always"))


def test_searches_use_a_fresh_replica_and_fall_back_while_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    copies: list[Any] = []
    searched: list[Any] = []

    def to_gpu(index: Any, device: int = 0) -> Any:
        c = faiss.clone_index(index)
        copies.append(c)
        return c

    def search(index: Any, q: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        searched.append(index)
        faiss.extract_index_ivf(index).nprobe = nprobe
        d, i = index.search(q, k)
        return d, i

    monkeypatch.setattr(gpu_mod, "gpu_count", lambda: 1)
    monkeypatch.setattr(gpu_mod, "to_gpu", to_gpu)
    monkeypatch.setattr(gpu_mod, "search", search)
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=200, background=False))
    v = clustered(400, D)
    ids = ix.add(v, metas(400))
    assert ix.kind == "ivf" and ix.stats()["gpu"] is True
    first = ix.search(v[:2], 3)  # stale: CPU now, replica built in the background
    for _ in range(100):
        if copies and ix._replica is not None:
            break
        time.sleep(0.02)
    second = ix.search(v[:2], 3)
    assert searched and searched[-1] is copies[-1]
    np.testing.assert_array_equal(first.ids, second.ids)
    ix.remove([ids[0]])  # a write makes the replica stale again
    n = len(searched)
    third = ix.search(v[:1], 3)
    assert len(searched) == n and ids[0] not in third.ids
