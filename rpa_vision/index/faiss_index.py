"""``PrototypeIndex``: a FAISS inner-product index of unit vectors with ids and metadata.

* Exact (``IndexIDMap2(IndexFlatIP)``) while small. Flat results are re-ranked with the
  reference's exact scoring, so they equal ``BruteForceIndex`` id for id (ties by id).
* Past ``IndexConfig.ivf_threshold`` vectors it migrates itself to IVF (spherical k-means,
  ``nlist`` from the data size, ``nprobe`` configurable), and retrains when the data has grown
  ``retrain_growth`` times since the last training. IVF lists store float16 by default
  (``IndexConfig.ivf_storage``): half the memory and scan time; scores within 5e-4 of exact and
  reconstructed vectors rounded to float16 (base vectors of adapted indexes stay float32).
* A migration builds the new index off-lock: it copies the vectors chunk by chunk (holding the
  read lock per chunk, so searches go on), trains and fills the new index, replays the writes that
  arrived meanwhile (journaled), and swaps under the write lock (one short pause).
* Thread-safe: a readers-writer lock; searches run concurrently, writes one at a time. A save
  holds only a write gate, so searches go on during it and writes wait. An IVF add finds its
  vectors' lists before taking the write lock (the quantizer search is the costly part).
* GPU FAISS is used for searches when present (``IndexConfig.use_gpu``), never required.
* Base (un-adapted) vectors are kept when the index holds adapted vectors, so ``rebuild_with``
  can re-project every prototype through a new adapter.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import faiss
import numpy as np

from rpa_vision.core.errors import DependencyMissingError, IndexError_, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.index import gpu
from rpa_vision.index.locks import RWLock
from rpa_vision.index.metastore import MetaStore
from rpa_vision.index.reference import exact_scores, order
from rpa_vision.index.types import (
    IndexConfig,
    PrototypeMeta,
    PrototypeRecord,
    Provenance,
    SearchResult,
    check_vectors,
    choose_nlist,
    choose_nprobe,
)

log = get_logger(__name__)

Kind = Literal["flat", "ivf"]
_CHUNK = 50_000
_WRITE_CHUNK = 8192  # vectors added per hold of the write lock
_BLAS_MIN = 20  # FAISS uses BLAS from this many queries on; fewer run on one thread
_F32_EPS = 1e-5  # bound on |FAISS float32 score - exact score| for unit vectors
_FP16_EPS = 1e-3  # float16 storage: |error| <= 2**-11 * |q|.|v| = 4.9e-4 for unit vectors, doubled


@dataclass
class _Op:
    kind: Literal["add", "remove"]
    ids: np.ndarray
    vectors: np.ndarray | None = None


@dataclass
class _State:
    """What persistence needs from an index (a consistent snapshot, under the read lock)."""

    faiss_index: Any
    kind: Kind
    meta: MetaStore
    base: np.ndarray | None
    nlist: int
    trained_on: int


def _new_flat(dim: int) -> Any:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _new_prefilter(dim: int) -> Any:
    return faiss.IndexIDMap2(faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16,
                                                        faiss.METRIC_INNER_PRODUCT))


@contextmanager
def _omp_threads(n: int) -> Iterator[None]:
    """OpenMP threads for this thread's FAISS calls: few queries run on one thread (spinning
    workers of a parallel region cost more than they bring on a busy machine)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _release_freed_memory() -> None:
    """Give freed heap memory back to the OS after a swap (glibc keeps it otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _default_threads() -> int:
    return max(1, os.cpu_count() or 1)


class PrototypeIndex:
    """Prototype vectors (``provenance.dim``-D, unit length) with metadata, searchable by cosine."""

    def __init__(self, provenance: Provenance, config: IndexConfig | None = None) -> None:
        if not isinstance(provenance, Provenance):
            raise ValidationError("PrototypeIndex needs a Provenance (encoder, dim, ...)", field="provenance")
        self.provenance = provenance
        self.dim = provenance.dim
        self.config = config or IndexConfig()
        self.keeps_base = provenance.adapter_version != 0
        self._threads = _default_threads()
        self._lock = RWLock()
        self._write_gate = threading.Lock()  # held by writers and by a save's snapshot (see _snapshot)
        self._meta = MetaStore()
        self._index: Any = _new_flat(self.dim)
        self._prefilter: Any = _new_prefilter(self.dim)  # flat only: float16 first stage
        self._kind: Kind = "flat"
        self._nlist = 0
        self._trained_on = 0
        self._base: np.ndarray | None = np.zeros((0, self.dim), np.float32) if self.keeps_base else None
        self._version = 0  # bumped on every write (GPU replica freshness)
        self._swaps = 0  # bumped when a migration swaps in a new FAISS index
        # migration
        self._journal: list[_Op] | None = None
        self._journal_vectors = 0
        self._journal_lock = threading.Lock()
        self._migration_lock = threading.Lock()
        self._migration: threading.Thread | None = None
        self._migration_done = threading.Event()
        self._migration_done.set()
        self._failed_at = -1
        self.last_migration: dict[str, Any] = {}
        self.migration_error: str | None = None
        # GPU
        self._gpu = self._want_gpu()
        self._replica: Any = None
        self._replica_version = -1
        self._replica_thread: threading.Thread | None = None
        self._listeners: list[Callable[[np.ndarray], None]] = []

    def add_listener(self, fn: Callable[[np.ndarray], None]) -> None:
        """``fn(ids)`` runs after prototypes were removed or updated (e.g. to drop cached copies)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[np.ndarray], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, ids: np.ndarray) -> None:
        for fn in list(self._listeners):
            fn(ids)

    # -- basics --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._meta.count

    def __contains__(self, id_: object) -> bool:
        return isinstance(id_, (int, np.integer)) and bool(self._meta.contains(np.array([id_]))[0])

    def __iter__(self) -> Iterator[PrototypeRecord]:
        return self.records()

    @property
    def kind(self) -> Kind:
        return self._kind

    @property
    def nlist(self) -> int:
        return self._nlist

    @property
    def nprobe(self) -> int:
        if self._kind != "ivf":
            return 0
        return min(self._nlist, self.config.nprobe or choose_nprobe(self._nlist))

    @property
    def migrating(self) -> bool:
        return not self._migration_done.is_set()

    def _want_gpu(self) -> bool:
        if self.config.use_gpu == "never":
            return False
        n = gpu.gpu_count()
        if self.config.use_gpu == "always" and n == 0:
            raise DependencyMissingError("GPU FAISS", "no GPU FAISS build or no GPU here; use use_gpu='auto'")
        return n > 0

    def _check(self, x: object, what: str = "vectors") -> np.ndarray:
        return check_vectors(x, self.dim, what=what, on_unnormalized=self.config.on_unnormalized,
                             tolerance=self.config.norm_tolerance)

    def _selector(self, ids: np.ndarray) -> Any:
        # IVF with a hashtable direct map removes by IDSelectorArray; IDMap2 is O(n*m) with it
        return faiss.IDSelectorArray(ids) if self._kind == "ivf" else faiss.IDSelectorBatch(ids)

    # -- writes --------------------------------------------------------------------------------
    def add(self, vectors: object, metadata: Sequence[PrototypeMeta | dict[str, Any]],
            base: object | None = None) -> np.ndarray:
        """Add prototypes; returns their new ids (int64). ``base``: the un-adapted vectors, required
        when the index holds adapted vectors (``provenance.adapter_version > 0``).

        Input is validated before anything is added. A batch larger than 8192 is added in slices
        (searches run between them and may see part of the batch).
        """
        v = self._check(vectors)
        metas = [PrototypeMeta.coerce(m) for m in metadata]
        if len(metas) != len(v):
            raise ValidationError(f"{len(v)} vectors but {len(metas)} metadata records", field="metadata")
        b = self._check_base(base, len(v))
        if len(v) == 0:
            return np.zeros(0, np.int64)
        self._wait_for_journal_room(len(v))
        ids = np.zeros(0, np.int64)
        # a large batch goes in slices, each under the write lock, so that searches interleave
        for start in range(0, len(v), _WRITE_CHUNK):
            part = slice(start, start + _WRITE_CHUNK)
            lists = self._assign_lists(v[part])  # the costly part of an IVF add, off-lock
            with self._writing():
                if start == 0:
                    ids = self._meta.append(metas)  # every id reserved now, alive once added
                self._raw_add(v[part], ids[part], lists)
                self._meta.set_alive(ids[part], True)
                if b is not None:
                    self._store_base(ids[part], b[part])
                self._journal_add("add", ids[part], v[part])
                self._version += 1
        self._maybe_migrate()
        return ids

    def _check_base(self, base: object | None, n: int) -> np.ndarray | None:
        if not self.keeps_base:
            if base is not None:
                raise ValidationError("this index holds base embeddings (adapter v0): pass no base= vectors",
                                      field="base")
            return None
        if base is None:
            raise ValidationError(
                f"this index holds adapted vectors (adapter v{self.provenance.adapter_version}): pass base= the "
                "un-adapted vectors so that a later adapter can re-project them", field="base")
        b = check_vectors(base, self.dim, what="base vectors", on_unnormalized="normalize",
                          tolerance=self.config.norm_tolerance)
        if len(b) != n:
            raise ValidationError(f"{n} vectors but {len(b)} base vectors", field="base")
        return b

    def _store_base(self, ids: np.ndarray, b: np.ndarray) -> None:
        if self._base is None:
            return
        need = int(ids.max()) + 1
        if need > len(self._base):
            grown = np.zeros((max(need, int(len(self._base) * 1.5) + 1024), self.dim), np.float32)
            grown[:len(self._base)] = self._base
            self._base = grown
        self._base[ids] = b

    def _assign_lists(self, v: np.ndarray) -> tuple[int, np.ndarray] | None:
        """The IVF list of each new vector (a quantizer search), computed without holding the lock
        so that searches are not held up by it; ``None`` for a Flat index. Tagged with the swap
        count, not the index itself (holding that would keep a swapped-out index alive)."""
        swaps, index = self._swaps, self._index
        if not isinstance(index, faiss.IndexIVF) or len(v) == 0:
            return None
        _, lists = index.quantizer.search(v, 1)
        return swaps, np.ascontiguousarray(lists.reshape(-1), dtype=np.int64)

    def _raw_add(self, v: np.ndarray, ids: np.ndarray, lists: tuple[int, np.ndarray] | None = None) -> None:
        if lists is not None and lists[0] == self._swaps and self._kind == "ivf":  # lists still valid
            v, ids = np.ascontiguousarray(v, np.float32), np.ascontiguousarray(ids, np.int64)
            self._index.add_core(len(v), faiss.swig_ptr(v), faiss.swig_ptr(ids), faiss.swig_ptr(lists[1]))
        else:
            self._index.add_with_ids(v, ids)
        if self._prefilter is not None:
            self._prefilter.add_with_ids(v, ids)

    def _raw_remove(self, ids: np.ndarray) -> None:
        self._index.remove_ids(self._selector(ids))
        if self._prefilter is not None:
            self._prefilter.remove_ids(faiss.IDSelectorBatch(ids))

    def remove(self, ids: object) -> int:
        """Remove prototypes by id; unknown ids raise ``IndexError_`` and nothing is removed."""
        arr = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        if len(arr) == 0:
            return 0
        with self._writing():
            self._meta.require(arr)
            self._raw_remove(arr)
            self._meta.set_alive(arr, False)
            self._journal_add("remove", arr)
            self._version += 1
        self._notify(arr)
        return len(arr)

    def update(self, id_: int, vector: object, metadata: PrototypeMeta | dict[str, Any] | None = None,
               base: object | None = None) -> None:
        """Replace a prototype's vector (and metadata, when given), keeping its id."""
        v = self._check(vector)
        if len(v) != 1:
            raise ValidationError("update takes one vector", field="vector")
        meta = None if metadata is None else PrototypeMeta.coerce(metadata)
        b = self._check_base(base, 1)
        ids = np.array([int(id_)], np.int64)
        with self._writing():
            self._meta.require(ids)
            self._raw_remove(ids)
            self._raw_add(v, ids)
            if meta is not None:
                self._meta.update(int(id_), meta)
            if b is not None:
                self._store_base(ids, b)
            self._journal_add("remove", ids)
            self._journal_add("add", ids, v)
            self._version += 1
        self._notify(ids)

    # -- reads ---------------------------------------------------------------------------------
    def search(self, queries: object, k: int = 5, *, nprobe: int | None = None,
               workflow: str | None = None) -> SearchResult:
        """Top-``k`` prototypes of every query: ``(scores, ids, metadata)``, best first.

        ``workflow`` restricts the search to that workflow's prototypes (a FAISS id selector).
        """
        q = self._check(queries, "queries")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValidationError(f"k must be an int >= 1, got {k!r}", field="k")
        if nprobe is not None and nprobe < 1:
            raise ValidationError("nprobe must be >= 1", field="nprobe")
        k = int(k)
        with self._lock.read():
            sel = None
            if workflow is not None:
                allowed = self._meta.ids_where(workflow)
                n = len(allowed)
                sel = faiss.IDSelectorBatch(allowed) if n else None
            else:
                n = self._meta.count
            if n == 0 or len(q) == 0:
                scores = np.full((len(q), k), -np.inf, np.float32)
                ids = np.full((len(q), k), -1, np.int64)
            else:
                with _omp_threads(1 if len(q) < _BLAS_MIN else self._threads):
                    if self._kind == "flat":
                        scores, ids = self._search_flat(q, k, n, sel)
                    else:
                        scores, ids = self._search_ivf(q, k, nprobe, sel)
            metadata = [self._meta.get_many(row) for row in ids]
        return SearchResult(scores, ids, metadata)

    def _search_flat(self, q: np.ndarray, k: int, n: int, sel: Any) -> tuple[np.ndarray, np.ndarray]:
        """Candidates from a first stage, re-ranked with exact scores; widened until provably complete.

        Few queries scan the float16 prefilter (half the memory traffic), many use the float32 Flat
        index (BLAS). Every candidate is rescored exactly; a vector left out scores at most
        ``last fetched + eps`` (``eps`` bounds the first stage's error), so once that is below the
        exact k-th score nothing left out can enter the top k (or tie with it).
        """
        if len(q) < _BLAS_MIN and self._prefilter is not None:
            index, eps = self._prefilter, _FP16_EPS
        else:
            index, eps = (self._search_target() if sel is None else self._index), _F32_EPS
        params = None
        if sel is not None:
            params = faiss.SearchParameters()
            params.sel = sel
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        kk = min(n, k + max(8, k))
        todo = np.arange(len(q))
        while len(todo):
            d, i = index.search(q[todo], kk, params=params)
            again = []
            for row, qi in enumerate(todo.tolist()):
                cand = i[row][i[row] >= 0]
                sc, ids = order(exact_scores(q[qi:qi + 1], self._index.reconstruct_batch(cand))[0], cand, k)
                complete = kk >= n or len(cand) < kk or (len(sc) == k and d[row, kk - 1] + eps < sc[-1])
                if complete:
                    out_s[qi, :len(sc)], out_i[qi, :len(ids)] = sc, ids
                else:
                    again.append(qi)
            todo = np.array(again, np.int64)
            kk = min(n, kk * 4)
        return out_s, out_i

    def _search_ivf(self, q: np.ndarray, k: int, nprobe: int | None, sel: Any) -> tuple[np.ndarray, np.ndarray]:
        params = faiss.SearchParametersIVF()
        params.nprobe = int(min(self._nlist, nprobe or self.nprobe))
        if sel is not None:
            params.sel = sel
        index = self._search_target() if sel is None else self._index
        if index is self._index:
            d, i = index.search(q, k, params=params)
        else:
            d, i = gpu.search(index, q, k, params.nprobe)
        d = np.where(i >= 0, d, -np.inf).astype(np.float32)
        for qi in range(len(q)):  # deterministic order among equal scores
            s, ids = order(d[qi], i[qi], k)
            d[qi], i[qi] = s, ids
        return d, i

    def _search_target(self) -> Any:
        """The GPU replica when it is current, else the CPU index (and a refresh is scheduled)."""
        if not self._gpu:
            return self._index
        if self._replica is not None and self._replica_version == self._version:
            return self._replica
        t = self._replica_thread
        if t is None or not t.is_alive():
            self._replica_thread = threading.Thread(target=self._refresh_replica, name="index-gpu", daemon=True)
            self._replica_thread.start()
        return self._index

    def _refresh_replica(self) -> None:
        try:
            with self._lock.read():
                version = self._version
                replica = gpu.to_gpu(self._index)
            self._replica, self._replica_version = replica, version
        except Exception as exc:  # a GPU failure must never break CPU search
            log.warning("GPU FAISS replica failed (%s); searching on the CPU", exc)
            self._gpu = False

    def get(self, id_: int) -> PrototypeRecord:
        with self._lock.read():
            ids = np.array([int(id_)], np.int64)
            self._meta.require(ids)
            return self._record(int(id_), self._index.reconstruct_batch(ids)[0])

    def _record(self, id_: int, vector: np.ndarray) -> PrototypeRecord:
        base = None if self._base is None else self._base[id_].copy()
        return PrototypeRecord(id_, vector, self._meta.get(id_), base)

    def records(self, chunk: int = 4096) -> Iterator[PrototypeRecord]:
        """Every live record (id order); ids removed while iterating are skipped."""
        with self._lock.read():
            ids = self._meta.live_ids()
        for start in range(0, len(ids), chunk):
            with self._lock.read():
                part = ids[start:start + chunk]
                part = part[self._meta.contains(part)]
                vecs = self._index.reconstruct_batch(part) if len(part) else np.zeros((0, self.dim), np.float32)
                recs = [self._record(int(i), vecs[j]) for j, i in enumerate(part.tolist())]
            yield from recs

    def ids(self, workflow: str | None = None, step: int | None = None) -> np.ndarray:
        with self._lock.read():
            return self._meta.ids_where(workflow, step)

    def base_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The un-adapted vectors of these ids (the indexed ones when the index is not adapted)."""
        arr = np.asarray(ids, np.int64).reshape(-1)
        with self._lock.read():
            self._meta.require(arr)
            if self._base is not None:
                return self._base[arr].copy()
            return self._index.reconstruct_batch(arr)

    def stats(self) -> dict[str, Any]:
        with self._lock.read():
            n = self._meta.count
            # flat: float32 vectors + float16 prefilter; ivf: float16 or float32 lists (+ growth slack)
            per_dim = 6 if self._kind == "flat" else (2 if self.config.ivf_storage == "float16" else 4)
            vec_bytes = n * self.dim * per_dim
            overhead = n * (32 if self._kind == "flat" else 56) + self._nlist * self.dim * 4
            base_bytes = 0 if self._base is None else self._base.nbytes
            return {
                "size": n, "type": self._kind, "dim": self.dim, "nlist": self._nlist, "nprobe": self.nprobe,
                "trained_on": self._trained_on, "ivf_threshold": self.config.ivf_threshold,
                "gpu": bool(self._gpu), "migrating": self.migrating, "migration_error": self.migration_error,
                "last_migration": dict(self.last_migration),
                "memory_bytes": int(vec_bytes + overhead + base_bytes + self._meta.nbytes()),
                "provenance": self.provenance.to_json(),
            }

    # -- migration -----------------------------------------------------------------------------
    def _journal_add(self, kind: Literal["add", "remove"], ids: np.ndarray, vectors: np.ndarray | None = None) -> None:
        """Record a write for the migration running now (if any). Vectors are kept in float16 when
        the IVF lists store float16 anyway (exact: what the new index would store), halving the
        journal's memory."""
        with self._journal_lock:
            if self._journal is not None:
                if vectors is not None:
                    vectors = vectors.astype(np.float16 if self.config.ivf_storage == "float16" else np.float32)
                self._journal.append(_Op(kind, ids.copy(), vectors))
                self._journal_vectors += len(ids)

    def _wait_for_journal_room(self, n: int) -> None:
        while self._journal is not None and self._journal_vectors + n > self.config.max_journal:
            t = self._migration
            if t is None or t is threading.current_thread():
                return
            self._migration_done.wait(0.5)

    def _due(self) -> bool:
        n = self._meta.count
        if self._failed_at >= 0 and n < self._failed_at * 1.1:
            return False
        if self._kind == "flat":
            return n > self.config.ivf_threshold
        return n >= self._trained_on * self.config.retrain_growth

    def _maybe_migrate(self) -> None:
        if self._due():
            self.migrate(wait=not self.config.background)

    def migrate(self, *, wait: bool = True, nlist: int | None = None) -> bool:
        """Build a (re)trained IVF index now; returns False when a migration was already running."""
        with self._migration_lock:
            if self._migration is not None and self._migration.is_alive():
                running = self._migration
            else:
                running = None
                self._migration_done.clear()
                self._migration = threading.Thread(target=self._run_migration, args=(nlist,),
                                                   name="index-migration", daemon=True)
                self._migration.start()
        if running is not None:
            if wait:
                running.join()
            return False
        if wait:
            self.wait_for_migration()
        return True

    def wait_for_migration(self, timeout: float | None = None) -> bool:
        """Block until no migration runs; False on timeout."""
        return self._migration_done.wait(timeout)

    def _run_migration(self, nlist: int | None) -> None:
        try:
            self._migrate(nlist)
            self.migration_error = None
            self._failed_at = -1
        except Exception as exc:  # keep serving from the old index, say why
            log.error("index migration failed, staying on the %s index: %s", self._kind, exc)
            self.migration_error = f"{type(exc).__name__}: {exc}"
            self._failed_at = self._meta.count
            with self._journal_lock:
                self._journal, self._journal_vectors = None, 0
        finally:
            self._migration_done.set()

    def _migrate(self, nlist_wanted: int | None) -> None:
        t0 = time.perf_counter()
        with self._lock.read():
            ids = self._meta.live_ids()
            with self._journal_lock:
                self._journal, self._journal_vectors = [], 0
        n = len(ids)
        if n == 0:
            raise IndexError_("cannot train an IVF index on an empty index")
        nlist = min(n, nlist_wanted or self.config.nlist or choose_nlist(n))
        rng = np.random.default_rng(self.config.seed)
        n_train = min(n, nlist * self.config.train_points_per_list)
        sample = np.sort(rng.choice(ids, size=n_train, replace=False)) if n_train < n else ids
        train = self._copy_vectors(sample)
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf: Any
        if self.config.ivf_storage == "float16":
            ivf = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                faiss.METRIC_INNER_PRODUCT, False)
        else:
            ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = self.config.train_iterations
        ivf.cp.spherical = True
        ivf.cp.seed = self.config.seed
        ivf.cp.max_points_per_centroid = self.config.train_points_per_list
        ivf.cp.min_points_per_centroid = min(39, self.config.train_points_per_list)
        ivf.train(train)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        del train
        t_train = time.perf_counter() - t0
        for start in range(0, n, _CHUNK):
            part = ids[start:start + _CHUNK]
            with self._lock.read():
                part = part[self._meta.contains(part)]
                vecs = self._index.reconstruct_batch(part) if len(part) else None
            if vecs is not None:
                ivf.add_with_ids(vecs, part)
        while True:  # replay writes off-lock until few remain
            with self._journal_lock:
                ops, self._journal, self._journal_vectors = self._journal or [], [], 0
            self._replay(ivf, ops)
            if sum(len(o.ids) for o in ops) < 1000:
                break
        t1 = time.perf_counter()
        with self._writing():
            with self._journal_lock:
                ops, self._journal, self._journal_vectors = self._journal or [], None, 0
            self._replay(ivf, ops)
            old_kind, old_index = self._kind, self._index
            self._index, self._kind, self._nlist, self._trained_on = ivf, "ivf", nlist, n
            self._swaps += 1
            self._prefilter = None
            self._version += 1
            self._replica = None
        swap_ms = (time.perf_counter() - t1) * 1000
        del old_index
        _release_freed_memory()
        self.last_migration = {"from": old_kind, "n": n, "nlist": nlist, "train_s": round(t_train, 3),
                               "total_s": round(time.perf_counter() - t0, 3), "swap_ms": round(swap_ms, 3)}
        log.info("index migrated %s -> ivf: %s", old_kind, self.last_migration)

    def _copy_vectors(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), np.float32)
        keep = np.ones(len(ids), bool)
        for start in range(0, len(ids), _CHUNK):
            part = ids[start:start + _CHUNK]
            with self._lock.read():
                ok = self._meta.contains(part)
                if ok.any():
                    out[start:start + _CHUNK][ok] = self._index.reconstruct_batch(part[ok])
            keep[start:start + _CHUNK] = ok
        return np.ascontiguousarray(out[keep])

    @staticmethod
    def _replay(ivf: Any, ops: list[_Op]) -> None:
        for op in ops:
            if op.kind == "remove":
                ivf.remove_ids(faiss.IDSelectorArray(op.ids))
            else:
                ivf.add_with_ids(np.asarray(op.vectors, np.float32), op.ids)

    # -- re-projection and persistence support ----------------------------------------------------
    def rebuild_with(self, transform: Callable[[np.ndarray], np.ndarray], provenance: Provenance,
                     config: IndexConfig | None = None,
                     progress: Callable[[int, int], None] | None = None) -> PrototypeIndex:
        """A new index of ``transform(base vectors)`` with the same ids and metadata.

        The fine-tuner calls it with a new adapter; this index is left untouched (swap the new one in
        when it is ready). Outputs are L2-normalised; a wrong output shape is a ``ValidationError``.
        """
        new = PrototypeIndex(provenance, config or self.config)
        with self._lock.read():
            ids = self._meta.live_ids()
            new._meta = copy.deepcopy(self._meta)
        done = 0
        added: list[np.ndarray] = []
        for start in range(0, len(ids), _CHUNK):
            part = ids[start:start + _CHUNK]
            with self._lock.read():
                part = part[self._meta.contains(part)]
                base = self._base[part].copy() if self._base is not None else self._index.reconstruct_batch(part)
            out = np.asarray(transform(base), dtype=np.float32)
            if out.shape != (len(part), provenance.dim):
                raise ValidationError(f"transform returned shape {out.shape}, expected {(len(part), provenance.dim)}",
                                      field="transform")
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = check_vectors(out / np.maximum(norms, 1e-12), provenance.dim, what="transformed vectors")
            new._raw_add(out, part)
            added.append(part)
            if new._base is not None:
                if base.shape[1] != provenance.dim:
                    raise ValidationError("an adapter must keep the dimension of the base vectors", field="transform")
                new._store_base(part, base)
            done += len(part)
            if progress:
                progress(done, len(ids))
        alive = np.zeros(new._meta.next_id, bool)
        alive[np.concatenate(added) if added else np.zeros(0, np.int64)] = True
        new._meta.alive[:new._meta.next_id] = alive  # ids removed meanwhile stay removed in the new one
        if new._due():
            new.migrate(wait=True)
        return new

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Every write (add, remove, update, migration swap): the write gate, then the write lock."""
        with self._write_gate, self._lock.write():
            yield

    @contextmanager
    def _snapshot(self) -> Iterator[_State]:
        """A consistent view for saving: writes wait, searches go on. Only the write gate is held,
        not the read lock: a writer waiting behind a long save must not queue searches behind it
        (the lock prefers writers)."""
        with self._write_gate:
            yield _State(self._index, self._kind, self._meta, self._base, self._nlist, self._trained_on)

    @classmethod
    def _from_state(cls, provenance: Provenance, config: IndexConfig | None, state: _State) -> PrototypeIndex:
        ix = cls(provenance, config)
        ix._index, ix._kind, ix._meta = state.faiss_index, state.kind, state.meta
        ix._nlist, ix._trained_on = state.nlist, state.trained_on
        ix._prefilter = None
        if state.kind == "flat":
            ix._prefilter = _new_prefilter(ix.dim)
            ids = state.meta.live_ids()
            for start in range(0, len(ids), _CHUNK):
                part = ids[start:start + _CHUNK]
                ix._prefilter.add_with_ids(state.faiss_index.reconstruct_batch(part), part)
        if ix.keeps_base:
            ix._base = state.base if state.base is not None else np.zeros((0, ix.dim), np.float32)
        return ix
