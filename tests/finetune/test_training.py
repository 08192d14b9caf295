from __future__ import annotations

import threading

import numpy as np
import pytest

from rpa_vision.finetune import Adapter, TrainConfig, TrainingSkipped, train_adapter
from rpa_vision.finetune.examples import Example
from rpa_vision.finetune.training import build_triplets, evaluate, split

from .helpers import icon, pixel_embed


def _icon_examples(n: int, seed: int) -> tuple[np.ndarray, dict[str, int], list[Example]]:
    """n corrections: the recorded icon of variant v, the right one (v, perturbed), the wrong one."""
    rng = np.random.default_rng(seed)
    imgs: list[np.ndarray] = []
    examples = []
    for i in range(n):
        v = i % 2
        t, p, q = icon(v, rng), icon(v, rng), icon(1 - v, rng)
        base = len(imgs)
        imgs += [t, p, q]
        examples.append(Example(f"e{i}", "correction", f"h{base}", f"h{base + 1}", (f"h{base + 2}",),
                                context={"workflow": "w", "step": v}))
    vecs = pixel_embed(imgs)
    return vecs, {f"h{i}": i for i in range(len(imgs))}, examples


def test_too_few_examples_is_skipped_with_a_reason() -> None:
    vecs, keys, ex = _icon_examples(2, 0)
    with pytest.raises(TrainingSkipped, match="need at least"):
        train_adapter(vecs, build_triplets(ex, keys), Adapter.identity(vecs.shape[1]))


def test_one_class_is_skipped() -> None:
    vecs = np.eye(4, dtype=np.float32)
    ex = [Example(f"e{i}", "confirmation", "a", "b", (), context={"workflow": "w", "step": 1}) for i in range(5)]
    t = build_triplets(ex, {"a": 0, "b": 1})
    with pytest.raises(TrainingSkipped):
        train_adapter(vecs, t, Adapter.identity(4), TrainConfig(min_examples=2))


def test_split_is_deterministic_and_never_empty() -> None:
    ids = [f"x{i}" for i in range(7)]
    tr, va = split(ids, 0.25)
    _tr2, va2 = split(list(reversed(ids)), 0.25)
    assert len(tr) + len(va) == 7 and len(va) >= 1 and len(tr) >= 1
    assert sorted(ids[i] for i in va) == sorted(list(reversed(ids))[i] for i in va2)


def test_learns_to_separate_near_identical_icons() -> None:
    vecs, keys, ex = _icon_examples(20, 1)  # at most 20 corrections
    trip = build_triplets(ex, keys)
    result = train_adapter(vecs, trip, Adapter.identity(vecs.shape[1]))
    assert result.before.accuracy < 0.5  # the base embedding confuses them
    assert result.after.accuracy >= 0.95
    assert result.improved

    # held-out: fresh screens, never seen in training
    hv, hk, hex_ = _icon_examples(40, 99)
    held = build_triplets(hex_, hk)
    rows = np.arange(len(held.example_ids))
    before = evaluate(hv, held, rows, Adapter.identity(hv.shape[1]).apply, 0.05)
    after = evaluate(hv, held, rows, result.adapter.apply, 0.05)
    assert after.accuracy >= 0.95 > before.accuracy


def test_cancel_stops_training() -> None:
    vecs, keys, ex = _icon_examples(12, 2)
    ev = threading.Event()
    ev.set()
    with pytest.raises(TrainingSkipped, match="cancelled"):
        train_adapter(vecs, build_triplets(ex, keys), Adapter.identity(vecs.shape[1]), cancel=ev)


def test_low_rank_training_gives_a_full_residual_that_learns() -> None:
    vecs, keys, ex = _icon_examples(20, 1)
    result = train_adapter(vecs, build_triplets(ex, keys), Adapter.identity(vecs.shape[1]), TrainConfig(rank=16))
    w = result.adapter.weight
    assert w.shape == (256, 256) and np.linalg.matrix_rank(w, tol=1e-4) <= 16
    assert result.after.accuracy > result.before.accuracy
