"""PrototypeCache (LRU, stats, invalidation) and Matcher (grouping, margin, confidence)."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.index import MatchConfig, Matcher, PrototypeCache, PrototypeIndex, PrototypeMeta, Provenance, confidence

from .helpers import clustered, metas, unit

D = 16


def _ix(n: int = 50) -> tuple[PrototypeIndex, np.ndarray, np.ndarray]:
    ix = PrototypeIndex(Provenance("t", D))
    v = clustered(n, D, seed=1)
    return ix, ix.add(v, metas(n)), v


def test_lru_hits_misses_evictions() -> None:
    ix, ids, _ = _ix()
    cache = PrototypeCache(ix, max_entries=3)
    for i in ids[:3]:
        cache.get(int(i))
    cache.get(int(ids[0]))  # hit, now most recent
    cache.get(int(ids[3]))  # evicts ids[1], the least recently used
    st = cache.stats()
    assert (st.hits, st.misses, st.evictions, st.entries) == (1, 4, 1, 3)
    assert int(ids[1]) not in cache and int(ids[0]) in cache
    assert st.hit_rate == pytest.approx(0.2) and st.bytes == 3 * D * 4
    assert cache.get(int(ids[0])).meta == ix.get(int(ids[0])).meta


def test_cache_drops_updated_and_removed_records() -> None:
    ix, ids, v = _ix()
    cache = PrototypeCache(ix, max_entries=10)
    cache.get(int(ids[0]))
    cache.get(int(ids[1]))
    ix.update(int(ids[0]), v[9])
    ix.remove([ids[1]])
    assert len(cache) == 0
    np.testing.assert_allclose(cache.get(int(ids[0])).vector, v[9], atol=1e-7)  # fresh copy
    cache.close()
    ix.remove([ids[0]])
    assert int(ids[0]) in cache  # no longer listening


def test_warm_and_search_restricted_to_a_workflow() -> None:
    ix, ids, v = _ix(60)
    cache = PrototypeCache(ix, max_entries=100)
    assert cache.warm("wf1") == 20
    res = cache.search(v[1:2], 3, workflow="wf1")
    assert res.ids[0, 0] == ids[1]
    np.testing.assert_array_equal(res.ids, ix.search(v[1:2], 3, workflow="wf1").ids)
    assert all(m is not None and m.workflow == "wf1" for m in res.metadata[0])


def test_confidence_formula() -> None:
    c = MatchConfig(score_floor=0.5, score_full=0.9, margin_full=0.1)
    assert confidence(0.95, 0.2, c) == 1.0
    assert confidence(0.5, 0.2, c) == 0.0
    assert confidence(0.9, 0.0, c) == pytest.approx(0.5)  # a tie: at most one half
    assert confidence(0.7, 0.1, c) == pytest.approx(0.5)
    assert confidence(0.9, -0.1, c) == 0.0
    assert 0.0 <= confidence(0.8, 0.03, c) <= 1.0


def _index_of(groups: dict[tuple[str, int], list[np.ndarray]]) -> PrototypeIndex:
    ix = PrototypeIndex(Provenance("t", D))
    for (wf, step), vecs in groups.items():
        ix.add(np.stack(vecs), [PrototypeMeta(wf, step)] * len(vecs))
    return ix


def test_matcher_groups_by_max_and_reports_margin() -> None:
    rng = np.random.default_rng(0)
    e = np.eye(D, dtype=np.float32)
    q = e[0]
    near = unit(e[0] + 0.2 * e[1])  # cos ~0.98
    mid = unit(e[0] + 0.6 * e[2])  # cos ~0.86
    far = unit(e[0] + 2.0 * e[3])  # cos ~0.45
    noise = [unit(rng.normal(size=D)) for _ in range(3)]
    ix = _index_of({("a", 1): [mid, near, far], ("b", 2): [mid], ("c", 0): noise})
    matches = Matcher(ix, config=MatchConfig(score_floor=0.5, score_full=0.95, margin_full=0.1)).match(q, k=2)
    assert [(m.workflow, m.step) for m in matches] == [("a", 1), ("b", 2)]
    top, second = matches
    assert top.score == pytest.approx(float(near @ q), abs=1e-6)  # max over a's three prototypes
    assert top.prototypes == 3
    assert top.margin == pytest.approx(top.score - second.score, abs=1e-6)
    assert second.margin == pytest.approx(-top.margin, abs=1e-6)
    assert top.confidence == pytest.approx(confidence(top.score, top.margin, MatchConfig()), abs=1e-6)
    assert top.confidence > 0.9 > second.confidence
    assert ix.get(top.prototype_id).meta.key == ("a", 1)


def test_matcher_ambiguous_and_alone() -> None:
    e = np.eye(D, dtype=np.float32)
    same = unit(e[0] + 0.1 * e[1])
    ix = _index_of({("a", 0): [same], ("b", 0): [same]})
    m = Matcher(ix).match(e[0], k=2)
    assert m[0].margin == pytest.approx(0.0, abs=1e-6) and m[0].confidence <= 0.5
    alone = _index_of({("a", 0): [same]})
    (only,) = Matcher(alone).match(e[0], k=3)
    assert only.margin == pytest.approx(only.score - 0.5, abs=1e-6) and only.confidence > 0.9


def test_matcher_widens_fetch_to_find_k_groups_and_uses_cache() -> None:
    e = np.eye(D, dtype=np.float32)
    groups = {("busy", 0): [unit(e[0] + 0.01 * i * e[1]) for i in range(80)],
              ("other", 1): [unit(e[0] + 0.9 * e[2])]}
    ix = _index_of(groups)
    m = Matcher(ix, config=MatchConfig(fetch=8)).match(e[0], k=2)
    assert [x.workflow for x in m] == ["busy", "other"]
    cache = PrototypeCache(ix, max_entries=200)
    mc = Matcher(ix, cache).match(e[0], k=1, workflow="other")
    assert [x.workflow for x in mc] == ["other"] and cache.stats().entries == 1
    assert Matcher(ix).match_many(np.stack([e[0], e[2]]), k=1)[1][0].workflow == "other"


def test_cache_keeps_no_record_that_changed_while_it_was_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    ix, ids, v = _ix()
    cache = PrototypeCache(ix, max_entries=10)
    fetch = ix.get

    def racing_get(id_: int) -> object:
        rec = fetch(id_)  # the old record ...
        ix.update(int(id_), v[9])  # ... changed by another writer before the cache stores it
        return rec

    monkeypatch.setattr(ix, "get", racing_get)
    cache.get(int(ids[0]))
    monkeypatch.undo()
    assert int(ids[0]) not in cache
    np.testing.assert_allclose(cache.get(int(ids[0])).vector, v[9], atol=1e-7)
    assert int(ids[0]) in cache
