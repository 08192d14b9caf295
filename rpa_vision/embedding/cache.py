"""An LRU cache of embeddings keyed by crop content and encoder, bounded by entries and bytes.

Keys are ``"<encoder cache key>:<content hash of the crop>"`` (see ``EmbeddingCache.key``), so
one cache can hold vectors of several encoders without mixing them up. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import content_hash
from rpa_vision.embedding.base import Encoder, as_bgr


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "hit_rate": self.hit_rate, "entries": self.entries, "bytes": self.bytes,
                "max_entries": self.max_entries, "max_bytes": self.max_bytes}


class EmbeddingCache:
    """LRU of ``key -> float32 vector``; evicts the least recently used past either bound."""

    def __init__(self, max_entries: int = 20_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        if int(max_entries) <= 0:
            raise ValidationError(f"max_entries must be > 0, got {max_entries}", field="max_entries")
        if int(max_bytes) <= 0:
            raise ValidationError(f"max_bytes must be > 0, got {max_bytes}", field="max_bytes")
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()

    # --- keys -------------------------------------------------------------------------------
    @staticmethod
    def key(image: np.ndarray, encoder: Encoder | str) -> str:
        """The cache key of a crop for an encoder (its ``cache_key()`` or a given string)."""
        enc = encoder if isinstance(encoder, str) else encoder.cache_key()
        return f"{enc}:{content_hash(as_bgr(image))}"

    # --- basic operations -------------------------------------------------------------------
    def get(self, key: str) -> np.ndarray | None:
        """The cached vector (a read-only array) or None; counts a hit or a miss."""
        with self._lock:
            v = self._data.get(key)
            if v is None:
                self._misses += 1
                return None
            self._data.move_to_end(key)
            self._hits += 1
            return v

    def put(self, key: str, vector: np.ndarray) -> None:
        v = np.array(vector, dtype=np.float32, copy=True).reshape(-1)
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValidationError("cannot cache an empty or non-finite vector", field="vector")
        v.setflags(write=False)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if v.nbytes > self.max_bytes:
                return  # larger than the whole cache: never stored
            self._data[key] = v
            self._bytes += v.nbytes
            self._evict_locked()

    def _evict_locked(self) -> None:
        while self._data and (len(self._data) > self.max_entries or self._bytes > self.max_bytes):
            _, old = self._data.popitem(last=False)
            self._bytes -= old.nbytes
            self._evictions += 1

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    # --- batched ----------------------------------------------------------------------------
    def get_or_compute(
        self,
        keys: Sequence[str] | None,
        images: Sequence[np.ndarray],
        encoder: Encoder,
    ) -> np.ndarray:
        """Vectors for ``images``: cached ones looked up, the misses embedded in one batch.

        ``keys`` may be None (computed with ``EmbeddingCache.key``). Returns ``(N, encoder.dim)``.
        """
        imgs = list(images)
        if keys is None:
            enc_key = encoder.cache_key()
            keys = [self.key(im, enc_key) for im in imgs]
        keys = list(keys)
        if len(keys) != len(imgs):
            raise ValidationError(f"{len(keys)} keys for {len(imgs)} images", field="keys")
        out = np.empty((len(imgs), encoder.dim), np.float32)
        missing: list[int] = []
        for i, k in enumerate(keys):
            v = self.get(k)
            if v is None or v.shape[0] != encoder.dim:
                missing.append(i)
            else:
                out[i] = v
        if missing:
            # Identical crops in one batch are embedded once.
            first: dict[str, int] = {}
            todo: list[int] = []
            for i in missing:
                if keys[i] not in first:
                    first[keys[i]] = i
                    todo.append(i)
            vecs = encoder.embed([imgs[i] for i in todo])
            by_key = {keys[i]: vecs[j] for j, i in enumerate(todo)}
            for k, v in by_key.items():
                self.put(k, v)
            for i in missing:
                out[i] = by_key[keys[i]]
        return out

    def get_stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._data), self._bytes,
                              self.max_entries, self.max_bytes)

    def reset_stats(self) -> None:
        with self._lock:
            self._hits = self._misses = self._evictions = 0
