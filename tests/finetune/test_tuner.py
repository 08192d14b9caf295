from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from rpa_vision.core.paths import Paths
from rpa_vision.finetune import Adapter, FineTuneConfig, FineTuner, TrainingSkipped

from .helpers import icon, pixel_embed

PROV = {"name": "pixel16", "dim": 256}


def _tuner(tmp_path: Path, auto_after: int = 0) -> FineTuner:
    return FineTuner(Paths(tmp_path), pixel_embed, PROV, 256, FineTuneConfig(auto_after=auto_after))


def _feed(t: FineTuner, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        v = i % 2
        t.add_example("correction", icon(v, rng), icon(v, rng), [icon(1 - v, rng)], {"workflow": "w", "step": v})


def test_run_swaps_in_a_better_adapter_and_records_history(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    seen: list[int] = []
    t.registry.add_listener(lambda ad: seen.append(ad.version))
    _feed(t, 20)
    result = t.run()
    assert result.improved
    assert t.registry.current.version == 1 and seen == [1]
    st = t.status()
    assert st.adapter_version == 1 and st.new_examples == 0 and st.last_run is not None
    before, after = st.last_run.val_accuracy_before, st.last_run.val_accuracy_after
    assert st.last_run.outcome == "swapped" and before is not None and after is not None and after >= before
    # a new process sees the same current adapter
    assert _tuner(tmp_path).registry.current.version == 1


def test_background_training_is_triggered_by_new_examples(tmp_path: Path) -> None:
    t = _tuner(tmp_path, auto_after=20)
    _feed(t, 20)
    assert t.wait(timeout=120)
    assert t.status().last_run is not None
    assert t.registry.current.version == 1


def test_too_few_examples_are_skipped_with_reason(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 2)
    with pytest.raises(TrainingSkipped):
        t.run()
    st = t.status()
    assert st.last_run is not None and st.last_run.outcome == "skipped" and "need at least" in st.last_run.reason


def test_failed_listener_blocks_the_swap(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 20)

    def boom(_ad: Adapter) -> None:
        raise RuntimeError("re-projection failed")

    t.registry.add_listener(boom)
    with pytest.raises(RuntimeError):
        t.run()
    assert t.registry.current.version == 0


def test_rollback_and_corrupt_adapter_fallback(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 20)
    t.run()
    _feed(t, 20, seed=5)
    t.run()
    versions = t.registry.versions()
    assert versions[0] == 1
    t.rollback(0)
    assert t.registry.current.is_identity
    t.rollback(1)
    assert t.registry.current.version == 1
    # corrupt the current file: a fresh registry falls back to identity (no earlier one) with a warning
    (tmp_path / "adapters" / "adapter-v1.npz").write_bytes(b"broken")
    t2 = _tuner(tmp_path)
    assert t2.registry.current.is_identity and t2.registry.warnings


def test_encoder_change_keeps_examples_and_uses_identity(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 20)
    t.run()
    other = FineTuner(Paths(tmp_path), pixel_embed, {"name": "other", "dim": 256}, 256)
    assert other.registry.current.is_identity and other.registry.warnings
    assert len(other.store) == 20


def test_searches_stay_consistent_across_a_swap(tmp_path: Path) -> None:
    """Readers adapting vectors while a swap happens see the old or the new space, never a mix."""
    t = _tuner(tmp_path)
    _feed(t, 20)
    rng = np.random.default_rng(3)
    queries = rng.normal(size=(64, 256)).astype(np.float32)
    old = t.registry.current
    outputs: list[np.ndarray] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            outputs.append(t.registry.apply(queries))

    th = threading.Thread(target=reader)
    th.start()
    t.run()
    stop.set()
    th.join()
    new = t.registry.current
    assert new.version == 1
    a, b = old.apply(queries), new.apply(queries)
    for out in outputs:
        assert np.allclose(out, a, atol=1e-6) or np.allclose(out, b, atol=1e-6)


class _CountingEmbed:
    def __init__(self) -> None:
        self.crops = 0

    def __call__(self, crops: object) -> np.ndarray:
        out = pixel_embed(crops)  # type: ignore[arg-type]
        self.crops += len(out)
        return out


def test_a_new_process_does_not_embed_the_same_crops_again(tmp_path: Path) -> None:
    first = _CountingEmbed()
    t = FineTuner(Paths(tmp_path), first, PROV, 256, FineTuneConfig(auto_after=0))
    _feed(t, 12)
    t.run()
    assert first.crops == 36
    again = _CountingEmbed()  # a new process on the same home: the vectors come from the cache file
    t2 = FineTuner(Paths(tmp_path), again, PROV, 256, FineTuneConfig(auto_after=0))
    _feed(t2, 2, seed=7)
    t2.run()
    assert again.crops == 6  # only the two new examples' crops
    other = _CountingEmbed()  # another encoder: nothing of the first one's vectors is used
    t3 = FineTuner(Paths(tmp_path), other, {"name": "pixel16", "dim": 256, "config": {"v": 2}}, 256,
                   FineTuneConfig(auto_after=0))
    t3.run()
    assert other.crops == 42
    cold = _CountingEmbed()
    t4 = FineTuner(Paths(tmp_path), cold, PROV, 256, FineTuneConfig(auto_after=0))
    t4.clear_vector_cache()
    t4.run()
    assert cold.crops == 42


def test_a_corrupt_vector_cache_means_embedding_again(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 8)
    t.run()
    cache_files = list((tmp_path / "finetune").glob("vectors-*.npz"))
    assert len(cache_files) == 1
    cache_files[0].write_bytes(b"PK\x03\x04 truncated")
    emb = _CountingEmbed()
    t2 = FineTuner(Paths(tmp_path), emb, PROV, 256, FineTuneConfig(auto_after=0))
    t2.run()
    assert emb.crops == 24
    emb2 = _CountingEmbed()  # rewritten: the next process reads it again
    FineTuner(Paths(tmp_path), emb2, PROV, 256, FineTuneConfig(auto_after=0)).run()
    assert emb2.crops == 0
