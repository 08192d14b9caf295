"""Training an adapter from examples: contrastive (InfoNCE) on base embeddings, held-out validation.

Pure function of (base vectors, examples, config): the background thread, the CLI and the tests
all call ``train_adapter``. torch is imported here, lazily, only when training runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.finetune.adapter import DEFAULT_SCOPE_RANGE, Adapter, l2_normalize
from rpa_vision.finetune.examples import Example


class TrainingSkipped(RpaVisionError):
    """Training did not run (too few examples, one class only, cancelled); ``reason`` says why."""

    exit_code = 1

    def __init__(self, reason: str) -> None:
        super().__init__(f"training skipped: {reason}", reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class TrainConfig:
    min_examples: int = 4
    val_fraction: float = 0.25
    epochs: int = 150
    lr: float = 0.01
    temperature: float = 0.05
    weight_decay: float = 1e-3  # pulls the residual back towards identity
    threads: int = 1
    seed: int = 0
    #: The residual trained as ``U @ V.T`` of this rank (0 = a full matrix), ``V`` the main directions
    #: separating the training examples: an epoch costs ``dim * rank`` instead of ``dim ** 2``. Off by
    #: default: on 20 look-alike corrections with 256-D pixel embeddings it generalised worse (held-out
    #: 0.90 vs 0.98), and since the loss is computed from one similarity matrix the full residual
    #: trains 100 corrections at 659-D in ~2 s. The saved adapter is the full matrix either way.
    rank: int = 0
    #: Early stopping on the held-out loss: every ``check_every`` epochs the validation loss is
    #: computed; when it rose clearly above its best (over-fitting) and stayed there for
    #: ``patience`` epochs (after at least ``min_epochs``), training stops and the parameters of the
    #: best check are kept (also when the last epoch ends over-fitted). A held-out loss that merely
    #: stops improving (it is ~0 once the few validation examples are separated) does not stop
    #: training: on the look-alike icons the unseen examples kept improving. ``patience=0``: off.
    patience: int = 20
    check_every: int = 5
    min_epochs: int = 40
    #: The adapter applies to targets whose base vector is this close (cosine) to a taught target:
    #: not at all below the first value, fully from the second (see ``Adapter.similarities``).
    scope_range: tuple[float, float] = DEFAULT_SCOPE_RANGE
    #: At most this many taught targets are kept as the scope (the most recent ones).
    max_scope: int = 512

    def __post_init__(self) -> None:
        if self.min_examples < 2:
            raise ValidationError("min_examples must be >= 2", field="min_examples")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValidationError("val_fraction must be in (0, 1)", field="val_fraction")
        if self.epochs < 1 or self.lr <= 0 or self.temperature <= 0 or self.threads < 1:
            raise ValidationError("epochs, lr, temperature and threads must be positive", field="config")
        if self.rank < 0:
            raise ValidationError("rank must be >= 0 (0 = full)", field="rank")
        if self.patience < 0 or self.check_every < 1 or self.min_epochs < 0:
            raise ValidationError("patience and min_epochs must be >= 0, check_every >= 1", field="patience")
        lo, hi = self.scope_range
        if not (-1.0 <= lo < hi <= 1.0):
            raise ValidationError("scope_range must be -1 <= lo < hi <= 1", field="scope_range",
                                  value=self.scope_range)
        if self.max_scope < 1:
            raise ValidationError("max_scope must be >= 1", field="max_scope", value=self.max_scope)


@dataclass(frozen=True)
class Triplets:
    """Index arrays into a matrix of base vectors: anchor, positive and a padded negative set."""

    anchor: np.ndarray  # (M,)
    positive: np.ndarray  # (M,)
    negatives: np.ndarray  # (M, K) with -1 padding
    example_ids: tuple[str, ...]


def taught_targets(vectors: np.ndarray, triplets: Triplets, limit: int) -> np.ndarray:
    """The adapter's scope: the distinct target (anchor) vectors of the examples, the most recent
    ``limit`` of them (examples are in the order they were given)."""
    rows = list(dict.fromkeys(int(a) for a in triplets.anchor[::-1]))[:limit]  # newest first, unique
    scope = l2_normalize(np.asarray(vectors, np.float32)[np.array(rows[::-1], dtype=np.intp)])
    gram = scope @ scope.T
    keep: list[int] = []
    for i in range(len(scope)):  # near-identical crops of one target count once
        if not keep or float(gram[i, keep].max()) < 0.999:
            keep.append(i)
    return np.ascontiguousarray(scope[keep])


@dataclass(frozen=True)
class Evaluation:
    accuracy: float  # share of examples whose positive beats every negative
    margin: float  # mean (sim(anchor, positive) - max sim(anchor, negative))
    loss: float

    def better_than(self, other: Evaluation) -> bool:
        return self.accuracy > other.accuracy + 1e-9 or (
            abs(self.accuracy - other.accuracy) <= 1e-9 and self.margin > other.margin + 0.01
        )


@dataclass(frozen=True)
class TrainingResult:
    adapter: Adapter
    before: Evaluation  # the current adapter on the validation split
    after: Evaluation  # the new adapter on the validation split
    train_examples: int
    val_examples: int
    duration_s: float
    history: list[float] = field(default_factory=list)  # training loss per epoch run
    best_epoch: int = 0  # the epoch whose parameters were kept (early stopping)

    @property
    def improved(self) -> bool:
        return self.after.better_than(self.before)


def build_triplets(examples: Sequence[Example], keys: dict[str, int], max_borrowed: int = 16) -> Triplets:
    """Turn examples into triplets. Besides its own negatives, every example borrows up to
    ``max_borrowed`` positives of other workflow steps (other elements), so a confirmation still
    teaches what it is not and a correction sees more than one wrong element."""
    anchors, positives, negs, ids = [], [], [], []
    step_of = {e.id: (e.context.get("workflow"), e.context.get("step"), e.target) for e in examples}
    for e in examples:
        own = [keys[n] for n in e.negatives if n in keys]
        me = step_of[e.id]
        borrowed = [keys[o.positive] for o in examples
                    if step_of[o.id][:2] != me[:2] and o.target != e.target and o.positive != e.positive]
        own += borrowed[:max_borrowed]
        if not own:
            continue
        anchors.append(keys[e.target])
        positives.append(keys[e.positive])
        negs.append(sorted(set(own)))
        ids.append(e.id)
    k = max((len(n) for n in negs), default=0)
    neg = np.full((len(negs), max(k, 1)), -1, dtype=np.int64)
    for i, n in enumerate(negs):
        neg[i, : len(n)] = n
    return Triplets(np.asarray(anchors, np.int64), np.asarray(positives, np.int64), neg, tuple(ids))


def split(ids: Sequence[str], val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic train/validation split by hashed example id (at least one of each)."""
    order = sorted(range(len(ids)), key=lambda i: hashlib.blake2b(ids[i].encode(), digest_size=8).digest())
    n_val = min(len(ids) - 1, max(1, int(round(len(ids) * val_fraction))))
    return np.asarray(sorted(order[n_val:]), np.int64), np.asarray(sorted(order[:n_val]), np.int64)


def evaluate(vectors: np.ndarray, t: Triplets, rows: np.ndarray, transform: Callable[[np.ndarray], np.ndarray],
             temperature: float) -> Evaluation:
    if rows.size == 0:
        return Evaluation(0.0, 0.0, float("inf"))
    z = transform(vectors)
    a, p, n = z[t.anchor[rows]], z[t.positive[rows]], t.negatives[rows]
    sp = np.sum(a * p, axis=1)
    sn = np.einsum("md,mkd->mk", a, z[np.maximum(n, 0)])
    sn = np.where(n >= 0, sn, -np.inf)
    best_neg = sn.max(axis=1)
    logits = np.concatenate([sp[:, None], sn], axis=1) / temperature
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    loss = float(np.mean(lse - logits[:, 0]))
    return Evaluation(float(np.mean(sp > best_neg)), float(np.mean(sp - best_neg)), loss)


def _contrast_basis(vectors: np.ndarray, t: Triplets, rows: np.ndarray, rank: int) -> np.ndarray:
    """An orthonormal ``(dim, <= rank)`` basis of the directions that separate the training
    examples: the main right singular vectors of (anchor - negative) and (positive - negative)."""
    a, p, n = t.anchor[rows], t.positive[rows], t.negatives[rows]
    m = n >= 0
    diffs = np.concatenate([
        (vectors[a][:, None, :] - vectors[np.maximum(n, 0)])[m],
        (vectors[p][:, None, :] - vectors[np.maximum(n, 0)])[m],
        vectors[a] - vectors[p],
    ])
    _u, sv, vt = np.linalg.svd(diffs, full_matrices=False)
    keep = int(min(rank, int((sv > sv[0] * 1e-6).sum()) if sv.size else 0)) or 1
    return np.ascontiguousarray(vt[:keep].T.astype(np.float32))


@dataclass(frozen=True)
class _Batch:
    """The triplets of some rows as torch tensors over only the vectors they use (renumbered)."""

    x: Any  # (n, dim) base vectors used by these rows, the anchors and positives first
    queries: int  # how many leading rows of x are anchors or positives
    anchor: Any  # (M,) into x
    positive: Any  # (M,)
    negatives: Any  # (M, K), padding mapped to 0 and masked
    mask: Any  # (M, K) bool, True where a negative is real

    @classmethod
    def of(cls, torch: Any, vectors: np.ndarray, t: Triplets, rows: np.ndarray) -> _Batch:
        a, p, n = t.anchor[rows], t.positive[rows], t.negatives[rows]
        queries = np.unique(np.concatenate([a, p]))
        order = np.concatenate([queries, np.setdiff1d(np.maximum(n, 0).ravel(), queries)])
        number = np.empty(int(order.max()) + 1 if order.size else 0, np.int64)
        number[order] = np.arange(order.size)
        return cls(torch.from_numpy(np.ascontiguousarray(vectors[order])), int(queries.size),
                   torch.from_numpy(number[a]), torch.from_numpy(number[p]),
                   torch.from_numpy(number[np.maximum(n, 0)]), torch.from_numpy(n >= 0))

    def loss(self, torch: Any, z: Any, temperature: float, symmetric: bool) -> Any:
        """InfoNCE of the adapted (not yet normalised) vectors ``z``. All similarities come from one
        matrix product (anchors and positives x all used vectors), then are gathered: far cheaper
        than per-triplet products (and their scatter-add backward)."""
        z = z / z.norm(dim=1, keepdim=True).clamp_min(1e-8)
        sim = (z[: self.queries] @ z.T) * (1.0 / temperature)
        sp = sim[self.anchor, self.positive].unsqueeze(1)
        target = torch.zeros(len(self.anchor), dtype=torch.long)
        ce = torch.nn.functional.cross_entropy
        sn = sim[self.anchor.unsqueeze(1), self.negatives].masked_fill(~self.mask, float("-inf"))
        loss = ce(torch.cat([sp, sn], dim=1), target)
        if symmetric:  # the positive must also pick its anchor over the negatives
            sn2 = sim[self.positive.unsqueeze(1), self.negatives].masked_fill(~self.mask, float("-inf"))
            loss = loss + ce(torch.cat([sp, sn2], dim=1), target)
        return loss


def lower_thread_priority(nice: int = 10) -> bool:
    """Let the calling thread give way to perception for the CPU (Linux: a per-thread nice value;
    elsewhere nothing). Only for a thread that ends after training: it cannot be raised again."""
    setp = getattr(os, "setpriority", None)
    if setp is None or not sys.platform.startswith("linux"):
        return False
    try:
        setp(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return False
    return True


def train_adapter(
    vectors: np.ndarray,
    triplets: Triplets,
    current: Adapter,
    config: TrainConfig = TrainConfig(),
    cancel: threading.Event | None = None,
    version: int = 1,
) -> TrainingResult:
    """Train a new adapter (starting from identity) and evaluate it against ``current``."""
    started = time.perf_counter()
    m = len(triplets.example_ids)
    if m < config.min_examples:
        raise TrainingSkipped(f"{m} usable example(s), need at least {config.min_examples}")
    if not (triplets.negatives >= 0).any():
        raise TrainingSkipped("only one class of examples: no negatives to learn from")
    vectors = l2_normalize(np.asarray(vectors, np.float32))
    dim = vectors.shape[1]
    if current.dim != dim:
        current = Adapter.identity(dim, current.encoder)
    train_rows, val_rows = split(triplets.example_ids, config.val_fraction)
    before = evaluate(vectors, triplets, val_rows, current.apply, config.temperature)

    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        train = _Batch.of(torch, vectors, triplets, train_rows)
        val = _Batch.of(torch, vectors, triplets, val_rows)
        b = torch.zeros(dim, requires_grad=True)
        low_rank = 0 < config.rank < dim
        if low_rank:  # W = u @ v.T: u starts at zero (identity), v the main directions that tell apart
            v = torch.from_numpy(_contrast_basis(vectors, triplets, train_rows, config.rank))
            u = torch.zeros((dim, v.shape[1]), requires_grad=True)
            params = [u, b]
        else:
            w = torch.zeros((dim, dim), requires_grad=True)
            params = [w, b]
        opt = torch.optim.Adam(params, lr=config.lr, fused=True)

        def residual() -> Any:
            return (u @ v.T) if low_rank else w

        history: list[float] = []
        best: tuple[float, int, Any, Any] | None = None  # (val loss, epoch, weight, bias)
        overfit = False  # the last check's held-out loss is clearly above the best one
        for epoch in range(1, config.epochs + 1):
            if cancel is not None and cancel.is_set():
                raise TrainingSkipped("cancelled")
            time.sleep(0)  # hand the interpreter to perception between epochs
            if low_rank:
                z = train.x + (train.x @ v) @ u.T + b
            else:
                z = train.x + train.x @ w.T + b
            loss = train.loss(torch, z, config.temperature, symmetric=True)
            # ||W||_F^2, for W = u v^T as trace(u^T u v^T v) without forming W
            w_sq = ((u.T @ u) * (v.T @ v)).sum() if low_rank else w.pow(2).sum()
            loss = loss + config.weight_decay * (w_sq + b.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
            if config.patience and (epoch % config.check_every == 0 or epoch == config.epochs):
                with torch.no_grad():
                    wt = residual()
                    vl = float(val.loss(torch, val.x + val.x @ wt.T + b, config.temperature, symmetric=False))
                if best is None or vl < best[0] - max(1e-4, 0.01 * best[0]):
                    best = (vl, epoch, wt.detach().clone(), b.detach().clone())
                overfit = vl > 2.0 * best[0] + 1e-3
                if overfit and epoch - best[1] >= config.patience and epoch >= config.min_epochs:
                    break  # the held-out loss went up and stayed up: keep the best check
        if overfit and best is not None:
            weight_t, bias_t, kept = best[2], best[3], best[1]
        else:
            weight_t, bias_t, kept = residual().detach(), b.detach(), len(history)
        weight = weight_t.numpy().astype(np.float32).copy()
        bias = bias_t.numpy().astype(np.float32).copy()
    finally:
        torch.set_num_threads(old_threads)
    metrics: dict[str, Any] = {}
    scope = taught_targets(vectors, triplets, config.max_scope)
    adapter = Adapter(weight, bias, version, dict(current.encoder), metrics, scope=scope,
                      scope_range=config.scope_range)
    after = evaluate(vectors, triplets, val_rows, adapter.apply, config.temperature)
    metrics.update(val_accuracy=after.accuracy, val_margin=after.margin, val_loss=after.loss,
                   train_examples=int(train_rows.size), val_examples=int(val_rows.size))
    return TrainingResult(adapter, before, after, int(train_rows.size), int(val_rows.size),
                          time.perf_counter() - started, history, kept)
