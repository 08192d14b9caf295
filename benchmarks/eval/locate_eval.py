"""Crop every clickable element from a base screen and find it on each perturbed screen."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from benchmarks.eval.methods import Method
from benchmarks.eval.metrics import Trial
from benchmarks.suite.load import Suite, SuiteElement, SuiteScreen


def targets(ref: SuiteScreen, other: SuiteScreen, limit: int | None = None, seed: int = 0) -> list[SuiteElement]:
    """Clickable elements of ``ref`` that are also on ``other`` (a deterministic sample of ``limit``)."""
    els = [e for e in ref.clickable if other.element(e.id) is not None]
    if limit is not None and len(els) > limit:
        rng = random.Random(f"{seed}:{ref.config}:{other.config}")
        els = sorted(rng.sample(els, limit), key=lambda e: e.id)
    return els


def run_trials(
    suite: Suite,
    methods: Sequence[Method],
    *,
    perturbations: Sequence[str] | None = None,
    per_pair: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> tuple[list[Trial], dict[str, str]]:
    """Every (method, pair, element) trial; methods that cannot run are returned with the reason."""
    unavailable = {m.name: why for m in methods if (why := m.unavailable()) is not None}
    active = [m for m in methods if m.name not in unavailable]
    trials: list[Trial] = []
    for ref, other in suite.pairs():
        if perturbations is not None and other.perturbation not in perturbations:
            continue
        screen = other.image
        wh = (screen.shape[1], screen.shape[0])
        for el in targets(ref, other, per_pair, seed):
            truth = other.element(el.id)
            if truth is None:
                continue
            for m in active:
                ans = m.find(ref, el, screen)
                trials.append(Trial(m.name, f"{ref.config}->{other.config}", other.app, other.perturbation,
                                    el.id, truth.box, ans, wh))
        if log is not None:
            log(f"{ref.config} -> {other.config}: {len(trials)} trials so far")
    return trials, unavailable
