"""Flat -> IVF migration, retraining, journaled writes, thread safety, recall against the reference."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rpa_vision.index import BruteForceIndex, IndexConfig, PrototypeIndex, Provenance, choose_nlist, choose_nprobe
from rpa_vision.index.faiss_index import PrototypeIndex as _PI

from .helpers import clustered, metas

D = 32


def recall(ix: PrototypeIndex, ref: BruteForceIndex, q: np.ndarray, k: int, **kw: object) -> float:
    got = ix.search(q, k, **kw).ids  # type: ignore[arg-type]
    _, want = ref.search(q, k)
    return float(np.mean([len(set(g) & set(w)) / k for g, w in zip(got, want, strict=True)]))


def test_nlist_and_nprobe_rules() -> None:
    assert choose_nlist(10_000) == 256 and choose_nlist(1_000_000) == 2048
    for n in (100, 5000, 10_000, 100_000, 1_000_000):
        nl = choose_nlist(n)
        assert nl & (nl - 1) == 0 and n / nl >= 39
    assert choose_nprobe(2048) == 32 and choose_nprobe(16) == 8


def test_migrates_past_threshold_and_keeps_recall() -> None:
    vecs = clustered(3000, D, seed=1, spread=0.1)
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=2000, background=False))
    ids = ix.add(vecs[:2000], metas(2000))
    assert ix.kind == "flat"
    ids = np.concatenate([ids, ix.add(vecs[2000:], metas(1000, start=2000))])
    assert ix.kind == "ivf" and ix.nlist == choose_nlist(3000) and ix.last_migration["n"] == 3000
    ref = BruteForceIndex(D)
    ref.add(vecs, ids)
    q = clustered(100, D, seed=2, spread=0.1)
    assert recall(ix, ref, q, 5) >= 0.95
    assert recall(ix, ref, q, 5, nprobe=ix.nlist) == 1.0  # exhaustive probing is exact
    res = ix.search(q, 5)
    assert all(m is not None for row in res.metadata for m in row)
    assert (np.diff(res.scores, axis=1) <= 0).all()


def test_retrains_after_growth() -> None:
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=500, retrain_growth=2.0, background=False))
    ix.add(clustered(600, D, seed=3), metas(600))
    assert ix.kind == "ivf" and ix.stats()["trained_on"] == 600
    ix.add(clustered(700, D, seed=4), metas(700))
    assert ix.stats()["trained_on"] == 1300


@pytest.mark.parametrize("stage", ["copy", "replay"])
def test_writes_during_background_migration_are_replayed(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """The migration is held at a stage (after copying the training sample; after training and
    filling the new index): searches and writes still go on, and end up in the new index."""
    vecs = clustered(1200, D, seed=5)
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=100_000, background=True))
    ids = ix.add(vecs[:1000], metas(1000))
    gate, inside = threading.Event(), threading.Event()
    if stage == "copy":
        original = _PI._copy_vectors

        def slow_copy(self: PrototypeIndex, which: np.ndarray) -> np.ndarray:
            out = original(self, which)
            inside.set()
            assert gate.wait(10)
            return out

        monkeypatch.setattr(_PI, "_copy_vectors", slow_copy)
    else:
        replay = _PI._replay

        def slow_replay(ivf: object, ops: list[object]) -> None:
            if not inside.is_set():  # the first replay runs off-lock, before the swap
                inside.set()
                assert gate.wait(10)
            replay(ivf, ops)  # type: ignore[arg-type]

        monkeypatch.setattr(_PI, "_replay", staticmethod(slow_replay))
    assert ix.migrate(wait=False)
    assert inside.wait(10) and ix.migrating
    # the migration is building off-lock: searches and writes go on
    assert ix.search(vecs[:3], 3).ids[0, 0] == ids[0]
    new_ids = ix.add(vecs[1000:], metas(200, start=1000))
    ix.remove(ids[:50])
    ix.update(int(ids[60]), vecs[1100])
    gate.set()
    assert ix.wait_for_migration(20)
    assert ix.kind == "ivf" and ix.migration_error is None
    live = np.concatenate([ids[50:], new_ids])
    assert len(ix) == len(live)
    assert sorted(r.id for r in ix) == sorted(live.tolist())
    np.testing.assert_allclose(ix.get(int(ids[60])).vector, vecs[1100], atol=1e-3)  # float16 lists
    res = ix.search(vecs[1100], 2, nprobe=ix.nlist)
    assert set(res.ids[0]) == {int(ids[60]), int(new_ids[100])}
    assert ix.search(vecs[:1], 1, nprobe=ix.nlist).ids[0, 0] != ids[0]  # removed stays removed


def test_failed_migration_keeps_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=100, background=False))

    def boom(self: PrototypeIndex, which: np.ndarray) -> np.ndarray:
        raise MemoryError("no room")

    monkeypatch.setattr(_PI, "_copy_vectors", boom)
    vecs = clustered(200, D, seed=6)
    ids = ix.add(vecs, metas(200))
    assert ix.kind == "flat" and "no room" in (ix.migration_error or "")
    assert ix.search(vecs[:1], 1).ids[0, 0] == ids[0]
    ix.add(vecs[:5], metas(5))  # no retry storm: waits for 10% growth
    assert ix.kind == "flat"


def test_searches_while_another_thread_adds() -> None:
    vecs = clustered(6000, D, seed=7)
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=1500, retrain_growth=2.0, background=True))
    ix.add(vecs[:500], metas(500))
    errors: list[BaseException] = []
    stop = threading.Event()
    searches = [0]

    def searcher(seed: int) -> None:
        q = clustered(4, D, seed=seed)
        try:
            while not stop.is_set():
                res = ix.search(q, 5)
                for row_ids, row_meta in zip(res.ids, res.metadata, strict=True):
                    for i, m in zip(row_ids, row_meta, strict=True):
                        if i >= 0 and m is None:
                            raise AssertionError(f"id {i} without metadata")
                searches[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher, args=(s,)) for s in (10, 11)]
    for t in threads:
        t.start()
    try:
        for start in range(500, 6000, 250):
            ix.add(vecs[start:start + 250], metas(250, start=start))
            if start % 1000 == 0:
                ix.remove([start - 1])
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert ix.wait_for_migration(60)
    assert searches[0] > 0 and ix.kind == "ivf" and len(ix) == 6000 - 5
    assert ix.migration_error is None


def test_a_large_batch_goes_in_slices_and_keeps_its_ids() -> None:
    vecs = clustered(20_000, 8, seed=12)
    ix = PrototypeIndex(Provenance("t", 8), IndexConfig(ivf_threshold=100_000))
    ids = ix.add(vecs, metas(20_000))
    assert list(ids) == list(range(20_000)) and len(ix) == 20_000
    assert ix.search(vecs[19_999], 1).ids[0, 0] == 19_999


def test_ivf_adds_assign_lists_off_lock_and_never_with_a_swapped_quantizer(monkeypatch: pytest.MonkeyPatch) -> None:
    vecs = clustered(2500, D, seed=20)
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=1000, retrain_growth=100.0, background=False))
    ix.add(vecs[:1500], metas(1500))
    assert ix.kind == "ivf"
    original, used = _PI._assign_lists, []

    def spy(self: PrototypeIndex, v: np.ndarray) -> object:
        out = original(self, v)
        used.append(out is not None and out[0] == self._swaps)
        return out

    monkeypatch.setattr(_PI, "_assign_lists", spy)
    new_ids = ix.add(vecs[1500:2000], metas(500, start=1500))  # lists assigned before the write lock
    assert used == [True]

    def list_of(i: int) -> int:
        return int(ix._index.direct_map.get(i)) >> 32  # (list number << 32) | offset

    want = ix._index.quantizer.search(vecs[1500:2000], 1)[1].reshape(-1)
    assert [list_of(int(i)) for i in new_ids] == want.tolist()
    # lists computed against an index that has been swapped since are not used
    monkeypatch.setattr(_PI, "_assign_lists", lambda self, v: (self._swaps - 1, np.zeros(len(v), np.int64)))
    more = ix.add(vecs[2000:], metas(500, start=2000))
    want = ix._index.quantizer.search(vecs[2000:], 1)[1].reshape(-1)
    assert [list_of(int(i)) for i in more] == want.tolist()
    ref = BruteForceIndex(D)
    ref.add(vecs, np.arange(2500))
    assert recall(ix, ref, clustered(50, D, seed=21), 5, nprobe=ix.nlist) == 1.0
