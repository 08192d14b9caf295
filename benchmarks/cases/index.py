"""Prototype index figures: search latency and recall, throughput, migration, persistence, memory.

Data: 512-D unit vectors from a two-level mixture of Gaussians on the sphere (applications ->
screens -> looks), as real embeddings cluster; uniform random vectors as the worst case. Queries
are new looks of known screens. Recall@5 is measured against exact search in the same run.
FAISS runs with one OpenMP thread per core (2 here); one query uses one thread anyway.
"""

from __future__ import annotations

import gc
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.index import (
    BruteForceIndex,
    IndexConfig,
    PrototypeIndex,
    PrototypeMeta,
    Provenance,
    load_index,
    save_index,
)

D = 512
CHUNK = 100_000
SEED_CLAIM_MS_1M = 20.0  # the seeds claim 20-50 ms per query at 1M; we compare with the better end
PROV = Provenance("bench", D, "synthetic")


def _threads() -> None:
    faiss.omp_set_num_threads(max(1, min(os.cpu_count() or 1, 2)))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Data:
    """Reproducible chunks of clustered (or uniform) vectors; chunk ``i`` is always the same."""

    def __init__(self, n_total: int, uniform: bool = False, seed: int = 7) -> None:
        self.uniform = uniform
        self.seed = seed
        rng = np.random.default_rng(seed)
        n_screens = max(50, n_total // 200)
        apps = _unit(rng.normal(size=(max(10, n_screens // 50), D)))
        which = rng.integers(0, len(apps), n_screens)
        self.screens = _unit(apps[which] + 0.8 * rng.normal(size=(n_screens, D)).astype(np.float32) / np.sqrt(D))

    def chunk(self, i: int, n: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, i])
        noise = rng.standard_normal(size=(n, D), dtype=np.float32)
        if self.uniform:
            return _unit(noise)
        c = rng.integers(0, len(self.screens), n)
        return _unit(self.screens[c] + 0.7 * noise / np.float32(np.sqrt(D)))

    def queries(self, n: int) -> np.ndarray:
        return self.chunk(10_000_019, n)


def _metas(n: int, start: int) -> list[PrototypeMeta]:
    return [PrototypeMeta(f"wf{(start + i) % 300}", (start + i) % 40, "state", "", 0.0, "bench") for i in range(n)]


def _build(data: Data, n: int, config: IndexConfig | None = None, chunk: int = CHUNK) -> tuple[PrototypeIndex, float]:
    ix = PrototypeIndex(PROV, config or IndexConfig())
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        ix.add(data.chunk(start // chunk, m), _metas(m, start))
    ix.wait_for_migration()
    return ix, time.perf_counter() - t0


def _exact_top(data: Data, n: int, q: np.ndarray, k: int, chunk: int = CHUNK) -> np.ndarray:
    """Exact top-k ids over the same chunks (regenerated, so the index's copy is not needed)."""
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.full((len(q), k), -1, np.int64)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        s = q @ data.chunk(start // chunk, m).T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        cs = np.concatenate([best_s, np.take_along_axis(s, top, 1)], 1)
        ci = np.concatenate([best_i, top + start], 1)
        o = np.argsort(-cs, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cs, o, 1), np.take_along_axis(ci, o, 1)
    return best_i


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    k = want.shape[1]
    return float(np.mean([len(set(g.tolist()) & set(w.tolist())) / k for g, w in zip(got, want, strict=True)]))


def _one_query(ix: PrototypeIndex, q: np.ndarray, **kw: object) -> Callable[[], object]:
    it = itertools.cycle(range(len(q)))
    return lambda: ix.search(q[next(it)], 5, **kw)  # type: ignore[arg-type]


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class _PeakRss:
    def __init__(self) -> None:
        self.peak = _rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> _PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


@bench_case("search_10k", "index")
def search_10k(ctx: BenchContext) -> None:
    """k=5, one query, 10k prototypes (exact Flat): FAISS vs the numpy reference."""
    _threads()
    data = Data(10_000)
    ix, _ = _build(data, 10_000, chunk=10_000)
    q = data.queries(200)
    ref = BruteForceIndex(D)
    ref.add(data.chunk(0, 10_000), np.arange(10_000))
    ref_it = itertools.cycle(range(len(q)))
    ctx.time("numpy_reference_10k_k5", lambda: ref.search(q[next(ref_it)], 5), repeats=30, unit="ms")
    ctx.time("search_10k_k5_p50", _one_query(ix, q), repeats=300, unit="ms", target="<= 1 ms",
             baseline="numpy_reference_10k_k5", extra={"type": ix.kind})
    got = ix.search(q, 5).ids
    ctx.value("recall_at5_10k_flat", _recall(got, _exact_top(data, 10_000, q, 5, chunk=10_000)), "ratio",
              target="== 1.0 (exact)")


def _ivf_figures(ctx: BenchContext, n: int, label: str, uniform: bool, batch: bool) -> None:
    data = Data(n, uniform=uniform)
    ix, build_s = _build(data, n, chunk=min(CHUNK, n))
    q = data.queries(300)
    want = _exact_top(data, n, q, 5)
    st = ix.stats()
    extra = {"type": st["type"], "nlist": st["nlist"], "nprobe": st["nprobe"], "trained_on": st["trained_on"]}
    ctx.time(f"search_{label}_k5_p50", _one_query(ix, q), repeats=300, unit="ms", extra=extra)
    target = "report (no clusters: IVF's worst case)" if uniform else ">= 0.95"
    ctx.value(f"recall_at5_{label}", _recall(ix.search(q, 5).ids, want), "ratio", target=target, extra=extra)
    for probe in (st["nprobe"] * 2, st["nprobe"] * 4):
        if probe <= st["nlist"]:
            r = ctx.time(f"search_{label}_k5_nprobe{probe}", _one_query(ix, q, nprobe=probe), repeats=100, unit="ms")
            r.extra["recall_at5"] = _recall(ix.search(q, 5, nprobe=probe).ids, want)
    if batch:
        qb = data.queries(1024)
        r = ctx.time(f"batched_{label}_1024_queries", lambda: ix.search(qb, 5), repeats=5, warmup=1, unit="ms")
        ctx.value(f"batched_{label}_throughput", 1024 / (r.p50 or 1e-9) * 1000, "queries/s", target="report")
    ctx.value(f"build_{label}_s", build_s, "s", extra={"vectors_per_s": n / build_s})


@bench_case("search_100k", "index")
def search_100k(ctx: BenchContext) -> None:
    """k=5, one query and batched, 100k clustered prototypes (IVF after migration); 30k in quick mode."""
    _threads()
    n = 30_000 if ctx.quick else 100_000
    _ivf_figures(ctx, n, f"{n // 1000}k", uniform=False, batch=True)


@bench_case("search_100k_uniform", "index", quick=False)
def search_100k_uniform(ctx: BenchContext) -> None:
    """The worst case for IVF: 100k uniform random vectors (no clusters)."""
    _threads()
    _ivf_figures(ctx, 100_000, "100k_uniform", uniform=True, batch=False)


def _adder(ix: PrototypeIndex, vecs: np.ndarray, metas: list[PrototypeMeta]) -> Callable[[], object]:
    return lambda: ix.add(vecs, metas)


@bench_case("add_throughput", "index")
def add_throughput(ctx: BenchContext) -> None:
    """Adding batches of 1000 (vectors/s) into a Flat and into an IVF index (no migration triggered)."""
    _threads()
    data = Data(50_000)
    vecs = data.chunk(1, 1000)
    metas = _metas(1000, 0)
    for kind in ("flat", "ivf"):
        ix = PrototypeIndex(PROV, IndexConfig(ivf_threshold=10**9, background=False))
        ix.add(data.chunk(0, 20_000), _metas(20_000, 0))
        if kind == "ivf":
            ix.migrate(wait=True)
        r = ctx.time(f"add_1000_{kind}", _adder(ix, vecs, metas), repeats=20, unit="ms")
        ctx.value(f"add_throughput_{kind}", 1000 / (r.p50 or 1e-9) * 1000, "vectors/s")


@bench_case("migration", "index")
def migration(ctx: BenchContext) -> None:
    """Flat -> IVF migration time (train + fill + replay + swap) at 10k and 100k; the swap pause."""
    _threads()
    for n in (10_000,) if ctx.quick else (10_000, 100_000):
        data = Data(n)
        ix = PrototypeIndex(PROV, IndexConfig(ivf_threshold=10**9))
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            ix.add(data.chunk(start // CHUNK, m), _metas(m, start))
        t0 = time.perf_counter()
        ix.migrate(wait=True)
        total = time.perf_counter() - t0
        lm = ix.last_migration
        ctx.value(f"migration_{n // 1000}k_s", total, "s", extra=lm)
        ctx.value(f"migration_{n // 1000}k_swap_pause", lm["swap_ms"], "ms", target="one swap")


@bench_case("million", "index", quick=False)
def million(ctx: BenchContext) -> None:
    """1M clustered prototypes: build, search p50 + recall@5, memory, save/load time and size."""
    _threads()
    n = 1_000_000
    data = Data(n)
    gc.collect()
    rss0 = _rss()
    with _PeakRss() as peak:
        ix, build_s = _build(data, n)
    gc.collect()
    resident = _rss() - rss0
    st = ix.stats()
    extra = {"type": st["type"], "nlist": st["nlist"], "nprobe": st["nprobe"], "trained_on": st["trained_on"]}
    ctx.value("build_1m_s", build_s, "s", extra={"vectors_per_s": n / build_s, **extra})
    ctx.value("rss_delta_1m", resident / 2**30, "GiB", target="<= 2.5 GiB")
    ctx.value("rss_peak_delta_build_1m", (peak.peak - rss0) / 2**30, "GiB", target="report",
              extra={"why": "old and new index side by side during a background migration, plus the journal"})
    ctx.value("memory_per_vector_1m", resident / n, "bytes", extra={"raw_vector_bytes": D * 4})
    q = data.queries(300)
    want = _exact_top(data, n, q, 5)
    ctx.value("seed_claim_1m_p50", SEED_CLAIM_MS_1M, "ms", extra={"claim": "20-50 ms per query at 1M"})
    ctx.time("search_1m_k5_p50", _one_query(ix, q), repeats=300, unit="ms", target="<= 10 ms",
             baseline="seed_claim_1m_p50", extra=extra)
    ctx.value("recall_at5_1m", _recall(ix.search(q, 5).ids, want), "ratio", target=">= 0.95", extra=extra)
    probe = st["nprobe"] * 2
    r = ctx.time(f"search_1m_k5_nprobe{probe}", _one_query(ix, q, nprobe=probe), repeats=100, unit="ms")
    r.extra["recall_at5"] = _recall(ix.search(q, 5, nprobe=probe).ids, want)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        folder = save_index(ix, Path(d))
        save_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in folder.iterdir())
        del ix
        gc.collect()
        t0 = time.perf_counter()
        back, _ = load_index(Path(d), expected=PROV)
        load_s = time.perf_counter() - t0
        ctx.value("save_1m_s", save_s, "s")
        ctx.value("load_1m_s", load_s, "s", extra={"checksums": "crc32 of every file"})
        ctx.value("file_size_1m", size / 2**20, "MiB", extra={"bytes_per_vector": size / n})
        ctx.value("loaded_recall_at5_1m", _recall(back.search(q, 5).ids, want), "ratio")
