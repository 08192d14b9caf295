"""The exact (Flat) index equals the brute-force reference id for id."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.index import BruteForceIndex, IndexConfig, PrototypeIndex, Provenance

from .helpers import clustered, metas, unit

D = 48


def _pair(vecs: np.ndarray) -> tuple[PrototypeIndex, BruteForceIndex]:
    ix = PrototypeIndex(Provenance("test", D), IndexConfig(background=False))
    ids = ix.add(vecs, metas(len(vecs)))
    ref = BruteForceIndex(D)
    ref.add(vecs, ids)
    return ix, ref


def _same(ix: PrototypeIndex, ref: BruteForceIndex, q: np.ndarray, k: int) -> None:
    res = ix.search(q, k)
    s, i = ref.search(q, k)
    np.testing.assert_array_equal(res.ids, i)
    np.testing.assert_allclose(res.scores, s, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 37])
def test_flat_equals_reference_on_clustered_data(k: int) -> None:
    vecs = clustered(2000, D, seed=1)
    ix, ref = _pair(vecs)
    q = clustered(50, D, seed=2)
    _same(ix, ref, q, k)  # many queries: the float32 (BLAS) first stage
    for j in range(0, 50, 7):
        _same(ix, ref, q[j:j + 1], k)  # one query: the float16 first stage
    assert ix.kind == "flat"


def test_ties_are_broken_by_id_like_the_reference() -> None:
    rng = np.random.default_rng(3)
    base = unit(rng.normal(size=(40, D)))
    vecs = np.concatenate([base] * 30)  # every vector 30 times: exact ties beyond any k
    rng.shuffle(vecs)
    ix, ref = _pair(vecs)
    _same(ix, ref, base[:10], 8)
    res = ix.search(base[:1], 8)
    dup = res.ids[0][np.isclose(res.scores[0], res.scores[0][0])]
    assert list(dup) == sorted(dup)  # the lowest ids of the tied copies, ascending


def test_flat_after_removals_and_updates() -> None:
    vecs = clustered(1500, D, seed=4)
    ix, ref = _pair(vecs)
    gone = np.arange(0, 1500, 7)
    ix.remove(gone)
    ref.remove(gone)
    new = clustered(3, D, seed=5)
    for j, id_ in enumerate([1, 2, 3]):
        ix.update(id_, new[j])
        ref.remove([id_])
        ref.add(new[j:j + 1], [id_])
    q = np.concatenate([new, clustered(20, D, seed=6)])
    _same(ix, ref, q, 10)
    assert len(ix) == len(ref) == 1500 - len(gone)


def test_k_larger_than_size_pads_with_minus_one() -> None:
    vecs = clustered(4, D, seed=7)
    ix, ref = _pair(vecs)
    res = ix.search(vecs[:2], 6)
    assert (res.ids[:, 4:] == -1).all() and np.isneginf(res.scores[:, 4:]).all()
    assert res.metadata[0][5] is None and res.metadata[0][0] is not None
    _same(ix, ref, vecs[:2], 6)


def test_empty_index_search() -> None:
    ix = PrototypeIndex(Provenance("test", D))
    res = ix.search(clustered(2, D), 3)
    assert (res.ids == -1).all()


def test_workflow_filter_matches_reference_restricted() -> None:
    vecs = clustered(900, D, seed=8)
    ix = PrototypeIndex(Provenance("test", D))
    ids = ix.add(vecs, metas(900, workflows=3))
    keep = np.array([m.workflow == "wf1" for m in metas(900, workflows=3)])
    ref = BruteForceIndex(D)
    ref.add(vecs[keep], ids[keep])
    q = clustered(10, D, seed=9)
    res = ix.search(q, 5, workflow="wf1")
    _, i = ref.search(q, 5)
    np.testing.assert_array_equal(res.ids, i)
    assert all(m is not None and m.workflow == "wf1" for row in res.metadata for m in row)
    assert (ix.search(q, 5, workflow="nope").ids == -1).all()


def test_metadata_joined_and_records_iterate() -> None:
    vecs = clustered(30, D, seed=10)
    ix = PrototypeIndex(Provenance("test", D))
    ms = metas(30)
    ids = ix.add(vecs, ms)
    res = ix.search(vecs[7], 1)
    assert res.ids[0, 0] == ids[7] and res.metadata[0][0] == ms[7]
    scores, got_ids, got_meta = res  # tuple-style unpacking
    assert scores is res.scores and got_ids is res.ids and got_meta is res.metadata
    recs = list(ix)
    assert [r.id for r in recs] == list(ids)
    np.testing.assert_allclose(recs[3].vector, vecs[3], atol=1e-7)
    assert recs[3].meta == ms[3]
    assert ix.get(int(ids[5])).meta == ms[5]
    assert int(ids[5]) in ix and 10_000 not in ix
