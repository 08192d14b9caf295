from __future__ import annotations

import threading

import numpy as np
import pytest

from rpa_vision.finetune import Adapter, TrainConfig, TrainingSkipped, train_adapter
from rpa_vision.finetune.examples import Example
from rpa_vision.finetune.training import Triplets, build_triplets, evaluate, split

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


def _random_triplets(n: int, dim: int, seed: int) -> tuple[np.ndarray, Triplets]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(3 * n, dim)).astype(np.float32)
    ids = tuple(f"r{i}" for i in range(n))
    return vecs, Triplets(np.arange(0, 3 * n, 3), np.arange(1, 3 * n, 3), np.arange(2, 3 * n, 3)[:, None], ids)


def test_the_similarity_matrix_loss_equals_the_per_triplet_loss() -> None:
    import torch

    from rpa_vision.finetune.training import _Batch

    vecs, t = _random_triplets(12, 16, 3)
    t = Triplets(t.anchor, t.positive, np.concatenate([t.negatives, np.full((12, 1), -1)], axis=1), t.example_ids)
    t.negatives[::2, 1] = t.positive[1::2]  # a second negative for half of them, padding for the rest
    rows = np.arange(2, 12)
    vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    batch = _Batch.of(torch, vecs, t, rows)
    got = float(batch.loss(torch, batch.x, 0.05, symmetric=False))
    want = evaluate(vecs, t, rows, lambda v: v, 0.05).loss
    assert got == pytest.approx(want, rel=1e-4)


def test_early_stopping_keeps_the_best_check_when_held_out_loss_rises() -> None:
    vecs, t = _random_triplets(24, 32, 4)
    tr, val = split(t.example_ids, 0.25)
    # the held-out examples contradict training: same vectors, positive and negative swapped
    anc, pos, neg = t.anchor.copy(), t.positive.copy(), t.negatives.copy()
    src = tr[: len(val)]
    anc[val], pos[val], neg[val, 0] = t.anchor[src], t.negatives[src, 0], t.positive[src]
    t = Triplets(anc, pos, neg, t.example_ids)
    cfg = TrainConfig(epochs=150, patience=20, check_every=5, min_epochs=40)
    res = train_adapter(vecs, t, Adapter.identity(32), cfg)
    assert len(res.history) < 150 and res.best_epoch <= len(res.history) - 20
    full = train_adapter(vecs, t, Adapter.identity(32), TrainConfig(epochs=150, patience=0))
    assert len(full.history) == 150 and full.best_epoch == 150
    assert res.after.loss < full.after.loss  # the kept (earlier) adapter is the better one held-out


def test_the_trained_adapter_is_scoped_to_the_taught_targets() -> None:
    vecs, keys, ex = _icon_examples(12, 3)
    trip = build_triplets(ex, keys)
    ad = train_adapter(vecs, trip, Adapter.identity(vecs.shape[1])).adapter
    assert ad.scope is not None and 1 <= len(ad.scope) <= len(set(trip.anchor.tolist()))
    taught = vecs[trip.anchor]
    assert (ad.relevance(taught) == 1.0).all()
    rng = np.random.default_rng(5)
    unrelated = rng.normal(size=(8, vecs.shape[1])).astype(np.float32)
    assert (ad.relevance(unrelated) == 0.0).all()
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    far = unrelated[0] / np.linalg.norm(unrelated[0])
    np.testing.assert_allclose(ad.similarities(unrelated[0], vecs), unit @ far, atol=1e-6)  # base, untouched


def test_scope_keeps_the_most_recent_distinct_targets() -> None:
    from rpa_vision.finetune.training import taught_targets

    vecs = np.eye(5, dtype=np.float32)
    trip = Triplets(np.array([0, 0, 1, 2, 3]), np.array([4, 4, 4, 4, 4]), np.full((5, 1), -1), tuple("abcde"))
    scope = taught_targets(vecs, trip, limit=2)
    np.testing.assert_array_equal(scope, vecs[[2, 3]])
    assert len(taught_targets(vecs, trip, limit=10)) == 4  # target 0 counted once
