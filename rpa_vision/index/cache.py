"""``PrototypeCache``: an LRU of prototype records (vector + metadata) in front of the index.

It holds the prototypes in play (e.g. the active workflow's) so that matching a screen against
them is a small exact numpy product, no index round trip. Bounded by entries; hit, miss and
eviction counts; records removed or updated in the index are dropped from the cache (the cache
listens to the index). Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rpa_vision.core.errors import IndexError_, ValidationError
from rpa_vision.index.faiss_index import PrototypeIndex
from rpa_vision.index.reference import rank_exact
from rpa_vision.index.types import PrototypeMeta, PrototypeRecord, SearchResult, check_vectors


@dataclass(frozen=True)
class PrototypeCacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int
    max_entries: int
    bytes: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions, "hit_rate": self.hit_rate,
                "entries": self.entries, "max_entries": self.max_entries, "bytes": self.bytes}


class PrototypeCache:
    """LRU of ``id -> PrototypeRecord`` backed by a ``PrototypeIndex``."""

    def __init__(self, index: PrototypeIndex, max_entries: int = 4096) -> None:
        if isinstance(max_entries, bool) or int(max_entries) <= 0:
            raise ValidationError(f"max_entries must be > 0, got {max_entries}", field="max_entries")
        self.index = index
        self.max_entries = int(max_entries)
        self._data: OrderedDict[int, PrototypeRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._evictions = 0
        self._invalidations = 0  # bumped by every invalidate: a record fetched before one is not kept
        index.add_listener(self.invalidate)

    def close(self) -> None:
        """Stop listening to the index."""
        self.index.remove_listener(self.invalidate)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._data

    def _put(self, rec: PrototypeRecord) -> None:
        self._data[rec.id] = rec
        self._data.move_to_end(rec.id)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)
            self._evictions += 1

    def get(self, id_: int) -> PrototypeRecord:
        """The record of ``id_`` (from the cache, else from the index); unknown ids raise ``IndexError_``."""
        key = int(id_)
        with self._lock:
            rec = self._data.get(key)
            if rec is not None:
                self._hits += 1
                self._data.move_to_end(key)
                return rec
            self._misses += 1
            seen = self._invalidations
        rec = self.index.get(key)  # outside our lock: the index has its own
        with self._lock:
            if self._invalidations == seen:  # else it may have changed meanwhile: serve it, keep none
                self._put(rec)
        return rec

    def get_many(self, ids: Iterable[int]) -> list[PrototypeRecord]:
        return [self.get(i) for i in ids]

    def warm(self, workflow: str | None = None, step: int | None = None) -> int:
        """Load the prototypes of a workflow (and step) into the cache; returns how many (capped)."""
        ids = self.index.ids(workflow, step)[: self.max_entries]
        n = 0
        for i in ids.tolist():
            try:
                self.get(i)
                n += 1
            except IndexError_:  # removed meanwhile
                continue
        return n

    def invalidate(self, ids: Iterable[int] | np.ndarray | None = None) -> None:
        """Drop these ids (all when None)."""
        with self._lock:
            self._invalidations += 1
            if ids is None:
                self._data.clear()
                return
            for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).reshape(-1):
                self._data.pop(int(i), None)

    def records(self, workflow: str | None = None) -> list[PrototypeRecord]:
        with self._lock:
            return [r for r in self._data.values() if workflow is None or r.meta.workflow == workflow]

    def search(self, queries: object, k: int = 5, workflow: str | None = None) -> SearchResult:
        """Exact top-``k`` among the cached prototypes (of ``workflow`` when given); counts no hits."""
        q = check_vectors(queries, self.index.dim, what="queries", on_unnormalized=self.index.config.on_unnormalized)
        if isinstance(k, bool) or int(k) < 1:
            raise ValidationError(f"k must be >= 1, got {k!r}", field="k")
        recs = self.records(workflow)
        if recs:
            vecs = np.stack([r.vector for r in recs])
            ids = np.array([r.id for r in recs], np.int64)
        else:
            vecs, ids = np.zeros((0, self.index.dim), np.float32), np.zeros(0, np.int64)
        scores, top = rank_exact(q, vecs, ids, int(k))
        by_id: dict[int, PrototypeMeta] = {r.id: r.meta for r in recs}
        meta = [[by_id.get(int(i)) for i in row] for row in top]
        return SearchResult(scores, top, meta)

    def stats(self) -> PrototypeCacheStats:
        with self._lock:
            nbytes = sum(r.vector.nbytes + (0 if r.base is None else r.base.nbytes) for r in self._data.values())
            return PrototypeCacheStats(self._hits, self._misses, self._evictions, len(self._data),
                                       self.max_entries, int(nbytes))
