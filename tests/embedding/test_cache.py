from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.embedding import EmbeddingCache, Encoder
from rpa_vision.embedding.builtin import BuiltinEncoder
from rpa_vision.embedding.synthetic import gallery


class CountingEncoder(Encoder):
    """Wraps the builtin encoder and counts how many crops it really embedded."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = BuiltinEncoder()
        self.dim = self.inner.dim
        self.calls: list[int] = []

    def describe(self) -> dict[str, Any]:
        return {"encoder": "counting", "dim": self.dim}

    def _embed_batch(self, images: list[np.ndarray]) -> np.ndarray:
        self.calls.append(len(images))
        return self.inner._embed_batch(images)


def test_get_put_and_stats() -> None:
    c = EmbeddingCache(max_entries=10)
    assert c.get("a") is None
    c.put("a", np.ones(4))
    v = c.get("a")
    assert v is not None and v.dtype == np.float32 and not v.flags.writeable
    st = c.get_stats()
    assert (st.hits, st.misses, st.entries, st.bytes) == (1, 1, 1, 16)
    assert st.hit_rate == 0.5 and st.as_dict()["hit_rate"] == 0.5


def test_lru_eviction_by_entries_keeps_recently_used() -> None:
    c = EmbeddingCache(max_entries=3)
    for k in "abc":
        c.put(k, np.zeros(2))
    assert c.get("a") is not None  # a becomes most recent
    c.put("d", np.zeros(2))  # evicts b, the least recently used
    assert "b" not in c and all(k in c for k in "acd")
    assert c.get_stats().evictions == 1


def test_eviction_by_bytes() -> None:
    c = EmbeddingCache(max_entries=100, max_bytes=3 * 40)
    for i in range(5):
        c.put(str(i), np.zeros(10))  # 40 bytes each
    st = c.get_stats()
    assert st.entries == 3 and st.bytes <= 120 and st.evictions == 2
    c.put("huge", np.zeros(1000))  # larger than the whole cache: not stored, nothing evicted
    assert "huge" not in c and c.get_stats().entries == 3


def test_replacing_a_key_keeps_byte_count_right() -> None:
    c = EmbeddingCache(max_entries=10)
    c.put("a", np.zeros(10))
    c.put("a", np.zeros(20))
    assert c.get_stats().bytes == 80 and len(c) == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError):
        EmbeddingCache(max_entries=0)
    with pytest.raises(ValidationError):
        EmbeddingCache(max_bytes=-1)
    with pytest.raises(ValidationError):
        EmbeddingCache().put("x", np.array([np.nan]))
    enc = CountingEncoder()
    with pytest.raises(ValidationError):
        EmbeddingCache().get_or_compute(["a"], [], enc)


def test_get_or_compute_batches_misses_and_dedups() -> None:
    enc = CountingEncoder()
    _, crops = gallery()
    c = EmbeddingCache()
    first = c.get_or_compute(None, [*crops[:5], crops[0].copy()], enc)
    assert enc.calls == [5]  # one batch, the duplicate crop embedded once
    np.testing.assert_allclose(first[5], first[0])
    second = c.get_or_compute(None, crops[3:8], enc)
    assert enc.calls == [5, 3]  # only the 3 new crops
    np.testing.assert_allclose(second[:2], first[3:5])
    np.testing.assert_allclose(second, enc.inner.embed(crops[3:8]), atol=1e-6)
    st = c.get_stats()
    assert st.hits == 2 and st.entries == 8


def test_keys_separate_encoders() -> None:
    _, crops = gallery()
    a, b = BuiltinEncoder(), CountingEncoder()
    assert EmbeddingCache.key(crops[0], a) != EmbeddingCache.key(crops[0], b)
    assert EmbeddingCache.key(crops[0], a) == EmbeddingCache.key(crops[0].copy(), a)
    assert EmbeddingCache.key(crops[0], a) != EmbeddingCache.key(crops[1], a)


def test_thread_safety_under_contention() -> None:
    c = EmbeddingCache(max_entries=50)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(2000):
                k = str(int(rng.integers(0, 120)))
                if c.get(k) is None:
                    c.put(k, np.full(8, float(k)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    st = c.get_stats()
    assert st.entries <= 50 and st.bytes == st.entries * 32
    assert st.hits + st.misses == 8000
    for k in list(c._data):
        v = c.get(k)
        assert v is not None and float(v[0]) == float(k)  # no value stored under another key
