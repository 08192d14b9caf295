"""The current adapter reaches the Locator, the prototype index (re-projected before a swap) and
state vectors; searches never mix the old and the new space."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.core.errors import ProvenanceMismatchError
from rpa_vision.core.paths import Paths
from rpa_vision.finetune import Adapter, ExampleStore, FineTuneConfig, FineTuner
from rpa_vision.finetune.wiring import AdaptedIndex, adapt_state_vectors, bind_locator, shared_registry
from rpa_vision.index import IndexConfig, PrototypeIndex, Provenance, load_index, save_index

from .helpers import icon, pixel_embed

PROV = {"name": "pixel16", "dim": 256}


class PixelEncoder:
    """The weak test encoder with the interface of ``rpa_vision.embedding`` encoders."""

    name = "pixel16"
    dim = 256

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        return pixel_embed(images)

    def provenance(self) -> dict[str, Any]:
        return dict(PROV)


class RecordingLocator:
    def __init__(self) -> None:
        self.adapters: list[Any] = []

    def set_adapter(self, fn: Any) -> None:
        self.adapters.append(fn)


def _feed(t: FineTuner, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        v = i % 2
        t.add_example("correction", icon(v, rng), icon(v, rng), [icon(1 - v, rng)], {"workflow": "w", "step": v})


def _icon_index(seed: int, n: int = 24) -> tuple[PrototypeIndex, np.ndarray]:
    """An index of base embeddings: icon variant v is step v of workflow 'icons'."""
    rng = np.random.default_rng(seed)
    imgs = [icon(i % 2, rng) for i in range(n)]
    vecs = pixel_embed(imgs)
    ix = PrototypeIndex(Provenance("pixel16", 256), IndexConfig(background=False))
    ix.add(vecs, [{"workflow": "icons", "step": i % 2} for i in range(n)])
    return ix, vecs


def _queries(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % 2
    return pixel_embed([icon(int(v), rng) for v in truth]), truth


def test_locator_follows_swaps_and_rollbacks(tmp_path: Path) -> None:
    t = FineTuner(Paths(tmp_path), pixel_embed, PROV, 256, FineTuneConfig(auto_after=0))
    loc = RecordingLocator()
    unbind = bind_locator(loc, t.registry)
    assert loc.adapters == [None]  # identity: base embeddings
    _feed(t, 20)
    t.run()
    assert len(loc.adapters) == 2 and loc.adapters[-1] is not None
    x = pixel_embed([icon(0, np.random.default_rng(1))])
    np.testing.assert_allclose(loc.adapters[-1](x), t.registry.current.apply(x))
    t.rollback(0)
    assert loc.adapters[-1] is None
    unbind()
    t.rollback(1)
    assert len(loc.adapters) == 3  # unbound: no more updates
    # a locator that is gone does not stay registered
    gone = RecordingLocator()
    bind_locator(gone, t.registry)
    n_listeners = len(t.registry._swapped)
    del gone
    t.rollback(0)
    assert len(t.registry._swapped) == n_listeners - 1


def test_adapted_index_is_reprojected_before_the_swap_and_matches_better(tmp_path: Path) -> None:
    t = FineTuner(Paths(tmp_path), pixel_embed, PROV, 256, FineTuneConfig(auto_after=0))
    index, base = _icon_index(7)
    adapted = AdaptedIndex(index, t.registry)
    q, truth = _queries(8)

    def top1() -> float:
        return float(np.mean([m[0].step == v for m, v in zip(adapted.match_many(q, 1), truth, strict=True)]))

    before = top1()
    seen_at_prepare: list[int] = []
    t.registry.add_listener(lambda ad: seen_at_prepare.append(adapted.index.provenance.adapter_version))
    _feed(t, 20)
    t.run()
    new = t.registry.current
    assert new.version == 1
    assert seen_at_prepare == [1]  # re-projected before the registry published the adapter
    assert adapted.index.provenance.adapter_version == 1 and adapted.adapter is new
    # the index now holds adapt(base) and keeps the base vectors
    ids = adapted.index.ids()
    np.testing.assert_allclose(adapted.index.base_vectors(ids), base[ids], atol=1e-5)
    res = adapted.index.search(new.apply(base[:3]), 1)
    assert list(res.ids[:, 0]) == list(ids[:3])
    after = top1()
    assert before < 0.8 and after >= 0.95, (before, after)
    # new prototypes are given as base vectors and land in the adapted space
    rng = np.random.default_rng(9)
    extra = pixel_embed([icon(0, rng)])
    new_id = adapted.add(extra, [{"workflow": "icons", "step": 0}])
    got = adapted.index.search(new.apply(extra), 1)
    assert int(got.ids[0, 0]) == int(new_id[0]) and got.scores[0, 0] > 0.999


def test_matches_stay_consistent_across_a_swap_mid_search(tmp_path: Path) -> None:
    t = FineTuner(Paths(tmp_path), pixel_embed, PROV, 256, FineTuneConfig(auto_after=0))
    index, _ = _icon_index(3)
    adapted = AdaptedIndex(index, t.registry)
    q, _ = _queries(4, 16)
    old = [[(m.workflow, m.step, round(m.score, 4)) for m in ms] for ms in adapted.match_many(q, 2)]
    _feed(t, 20)
    results: list[list[list[tuple[str, int, float]]]] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            got = adapted.match_many(q, 2)
            results.append([[(m.workflow, m.step, round(m.score, 4)) for m in ms] for ms in got])
            stop.wait(0.002)  # leave the trainer some of the interpreter

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for th in threads:
        th.start()
    t.run()
    at_swap = len(results)
    for _ in range(200):  # let the searchers see the new space for a while
        if len(results) > at_swap + 5:
            break
        threading.Event().wait(0.05)
    stop.set()
    for th in threads:
        th.join()
    new = [[(m.workflow, m.step, round(m.score, 4)) for m in ms] for ms in adapted.match_many(q, 2)]
    assert old != new and any(r == new for r in results)
    for r in results:
        assert r == old or r == new  # never a query adapted one way searched in the other space


def test_locator_results_stay_consistent_across_a_swap_mid_search(tmp_path: Path) -> None:
    from rpa_vision.core.geometry import Box
    from rpa_vision.locate import Locator, LocatorConfig, TargetSpec

    rng = np.random.default_rng(11)
    screen = np.full((240, 360, 3), 235, np.uint8)
    for k, (x, y) in enumerate([(20, 20), (120, 20), (220, 20), (20, 120), (120, 120), (220, 120)]):
        screen[y:y + 32, x:x + 32] = icon(k % 2, rng)
    target = TargetSpec(screen[20:52, 20:52].copy(), Box(0, 0, 32, 32))
    registry = shared_registry(Paths(tmp_path), PixelEncoder())
    loc = Locator(encoder=PixelEncoder(), config=LocatorConfig(use_ocr=False))
    bind_locator(loc, registry)

    def run() -> list[tuple[tuple[float, ...], float]]:
        return [(c.box.as_tuple(), round(c.score, 5)) for c in loc.locate(target, screen, 4)]

    old = run()
    w = np.random.default_rng(12).normal(size=(256, 256)).astype(np.float32) * 0.2
    adapter = Adapter(w, np.zeros(256, np.float32), 1, dict(PROV))
    results: list[list[tuple[tuple[float, ...], float]]] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            results.append(run())

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for th in threads:
        th.start()
    threading.Event().wait(0.3)
    registry.publish(adapter)
    at_swap = len(results)
    for _ in range(400):
        if len(results) > at_swap + 4:
            break
        threading.Event().wait(0.05)
    stop.set()
    for th in threads:
        th.join()
    new = run()
    assert new != old and any(r == new for r in results)
    for r in results:
        assert r in (old, new)


def test_saved_index_is_reprojected_and_a_new_process_sees_it(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    index, base = _icon_index(5)
    save_index(index, paths.index)
    t = FineTuner.for_encoder(paths, PixelEncoder(), FineTuneConfig(auto_after=0))
    try:
        _feed(t, 20)
        t.run()
        loaded, _ = load_index(paths.index)
        assert loaded.provenance.adapter_version == 1
        ids = loaded.ids()
        np.testing.assert_allclose(loaded.base_vectors(ids), base[ids], atol=1e-5)
        # the shared registry is what a Locator bound in this process sees
        assert shared_registry(paths, PixelEncoder()) is t.registry
        loc = RecordingLocator()
        bind_locator(loc, shared_registry(paths, PixelEncoder()))
        assert loc.adapters[-1] is not None
    finally:
        t.close()


def test_adapted_index_refuses_another_dimension(tmp_path: Path) -> None:
    t = FineTuner(Paths(tmp_path), pixel_embed, PROV, 256, FineTuneConfig(auto_after=0))
    ix = PrototypeIndex(Provenance("other", 64), IndexConfig(background=False))
    with pytest.raises(ProvenanceMismatchError, match="index rebuild"):
        AdaptedIndex(ix, t.registry)


def test_state_vectors_adapt_block_wise() -> None:
    rng = np.random.default_rng(0)
    d = 8
    ad = Adapter(rng.normal(size=(d, d)).astype(np.float32) * 0.3, np.zeros(d, np.float32), 1)
    g, r, text = rng.normal(size=d), rng.normal(size=d), rng.normal(size=4)
    g, r, text = g / np.linalg.norm(g), r / np.linalg.norm(r) * 0.5, text / np.linalg.norm(text) * 0.2
    v = np.concatenate([g, r, text]).astype(np.float32)
    out = adapt_state_vectors(v, ad)[0]
    want = np.concatenate([ad.apply(g), ad.apply(r) * 0.5, text])
    np.testing.assert_allclose(out, want / np.linalg.norm(want), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adapt_state_vectors(v, Adapter.identity(d))[0], v / np.linalg.norm(v), rtol=1e-6)
    with pytest.raises(ProvenanceMismatchError):
        adapt_state_vectors(np.ones(10, np.float32), ad)


def test_examples_written_by_another_store_trigger_the_watching_tuner(tmp_path: Path) -> None:
    """The app runs ``start()``; the replayer's feedback sink writes through its own store."""
    paths = Paths(tmp_path)
    t = FineTuner(paths, pixel_embed, PROV, 256, FineTuneConfig(auto_after=20))
    statuses: list[str] = []
    t.subscribe(lambda st: statuses.append(st.line()))
    t.start(poll_s=0.05)
    try:
        sink_store = ExampleStore(paths.finetune)
        rng = np.random.default_rng(0)
        for i in range(20):
            v = i % 2
            sink_store.add("correction", icon(v, rng), icon(v, rng), [icon(1 - v, rng)], {"workflow": "w", "step": v})
        for _ in range(600):
            if t.registry.current.version == 1 and t.status().state == "idle":
                break
            threading.Event().wait(0.1)
        assert t.registry.current.version == 1
        assert "adapter v1" in t.status_text() and len(t.store) == 20
        assert any("training" in s for s in statuses)
    finally:
        assert t.stop(timeout=30)
    assert not t.running


def test_examples_added_during_training_stay_new(tmp_path: Path) -> None:
    a = ExampleStore(tmp_path)
    b = ExampleStore(tmp_path)
    rng = np.random.default_rng(2)
    a.add("confirmation", icon(0, rng), icon(0, rng))
    consumed = a.pending()
    b.add("confirmation", icon(1, rng), icon(1, rng))  # arrives while training runs
    a.mark_trained(consumed)
    assert a.pending() == 1 and b.pending() == 1 and len(b) == 2
