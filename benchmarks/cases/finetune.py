"""Fine-tuner figures: training time on 100 examples, and perception speed while training runs."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.paths import Paths
from rpa_vision.testbed.synthetic import lookalike_icon, pixel_embed


def _feed(tuner: object, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        v = i % 2
        tuner.add_example(  # type: ignore[attr-defined]
            "correction", lookalike_icon(v, rng), lookalike_icon(v, rng), [lookalike_icon(1 - v, rng)],
            {"workflow": "bench", "step": v},
        )


@bench_case("train_100_examples", "finetune")
def train_100(ctx: BenchContext) -> None:
    """Adapter training on 100 corrections (256-D embeddings), one background thread."""
    import torch  # noqa: F401  (import cost is paid once by the app, not per training run)

    from rpa_vision.finetune import FineTuneConfig, FineTuner

    with tempfile.TemporaryDirectory() as d:
        tuner = FineTuner(Paths(Path(d)), pixel_embed, {"name": "pixel16", "dim": 256}, 256,
                          FineTuneConfig(auto_after=0))
        _feed(tuner, 100)

        def once() -> None:
            tuner._vec_cache.clear()  # embed + train, as a background run does
            tuner.run()

        ctx.time("train_100_examples", once, repeats=4, warmup=1, unit="ms", target="<= 3000 ms")


@bench_case("perception_while_training", "finetune")
def perception_while_training(ctx: BenchContext) -> None:
    """Perception p50 on a 1080p frame while the fine-tuner trains, vs idle, in the same run."""
    from rpa_vision.embedding import create_encoder
    from rpa_vision.perception import Perceiver

    from rpa_vision.core.frame import Frame
    from rpa_vision.finetune import FineTuneConfig, FineTuner

    rng = np.random.default_rng(0)
    frames = []
    for i in range(4):
        img = np.full((1080, 1920, 3), 240, np.uint8)
        for _ in range(60):
            x, y = int(rng.integers(0, 1800)), int(rng.integers(0, 1040))
            img[y:y + 30, x:x + 110] = rng.integers(0, 255, 3)
        img[0:20, 0:20] = i  # distinct frames: no cache hits across repeats
        frames.append(Frame.from_array(img))
    perceiver = Perceiver(create_encoder("builtin"))
    k = [0]

    def perceive() -> None:
        k[0] += 1
        f = frames[k[0] % len(frames)]
        perceiver.perceive(Frame.from_array(f.pixels.copy(), timestamp=float(k[0])))

    idle = ctx.time("perceive_idle", perceive, repeats=20, warmup=2)
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as d:
        tuner = FineTuner(Paths(Path(d)), pixel_embed, {"name": "pixel16", "dim": 256}, 256,
                          FineTuneConfig(auto_after=0))
        _feed(tuner, 100)

        def trainer() -> None:
            while not stop.is_set():
                tuner._vec_cache.clear()
                tuner.run()

        th = threading.Thread(target=trainer, daemon=True)
        th.start()
        try:
            ctx.time("perceive_while_training", perceive, repeats=20, warmup=2,
                     baseline="perceive_idle", target="<= 1.5x idle p50",
                     extra={"idle_p50_ms": idle.p50})
        finally:
            stop.set()
            th.join()
