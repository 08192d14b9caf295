"""Fine-tuner figures: training time on 100 examples, perception speed while training runs, and the
learning scenario on the Qt test application's look-alike icons (before/after table).

The learning scenario (also run by ``tests/e2e/test_finetune_learning.py``): the recorded targets
are the toolbar icons *Copy* and *Duplicate* of the Qt test app (``data/suite/qt_base``), which
differ by a few pixels. The replay screens are suite screenshots of the same form seen through a
remote session: rescaled by 0.8-1.25 and JPEG-compressed. Feedback comes from remote views of the
base, dark-theme and moved screenshots; the held-out screens are remote views of the Windows-style
and larger-font screenshots, which training never sees. The target
is given as an image (``rpa-vision locate TARGET.png``, a healed look without its screen), so only
its appearance tells the twins apart. Outcomes per (screen, target): *correct* (top-1 is the right
element with a confidence the replayer acts on), *asks* (below the act threshold), *wrong* (a
confident wrong element: silent wrong). Corrections and confirmations are written the way the
replayer writes them (``ExampleStoreSink``), the fine-tuner trains in its background thread, and
the Locator is bound to the shared adapter registry (``adapted_locator``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.geometry import Box
from rpa_vision.core.paths import Paths
from rpa_vision.testbed.synthetic import lookalike_icon, pixel_embed

TWINS = ("qt/tool_copy", "qt/tool_duplicate")
#: Feedback comes from remote views of these suite screenshots (perturbation types of qt/form) ...
TRAIN_SOURCES = ("base", "theme", "moved")
#: ... and the held-out screens are remote views of others, never seen in training.
HELD_OUT_SOURCES = ("style", "font")


def _feed(tuner: object, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        v = i % 2
        tuner.add_example(  # type: ignore[attr-defined]
            "correction", lookalike_icon(v, rng), lookalike_icon(v, rng), [lookalike_icon(1 - v, rng)],
            {"workflow": "bench", "step": v},
        )


# --- the learning scenario ---------------------------------------------------------------------
@dataclass
class Tally:
    correct: int = 0
    asks: int = 0
    wrong: int = 0
    top1: int = 0
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (screen, element, outcome)

    @property
    def n(self) -> int:
        return self.correct + self.asks + self.wrong

    def rate(self, what: str) -> float:
        return getattr(self, what) / max(1, self.n)

    def add(self, screen: str, element: str, right: bool, confidence: float, act: float) -> None:
        outcome = "correct" if right and confidence >= act else ("wrong" if confidence >= act else "asks")
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.top1 += int(right)
        self.rows.append((screen, element, outcome))

    def line(self) -> str:
        return (f"{self.n:>3} locates: correct {self.correct:>3} ({self.rate('correct'):.0%}), asks {self.asks:>3}, "
                f"wrong {self.wrong:>3}, top-1 {self.top1 / max(1, self.n):.0%}")


def remote_screen(suite: Any, seed: int, kinds: Sequence[str]) -> tuple[Any, float, np.ndarray]:
    """A qt/form suite screenshot (of a perturbation in ``kinds``) seen through a remote session:
    (source screen, scale, pixels)."""
    rng = np.random.default_rng(seed)
    sources = [s for s in suite if s.app == "qt" and s.state == "qt/form" and s.perturbation in kinds
               and s.screen_size == (1920, 1080)]
    src = sources[int(rng.integers(len(sources)))]
    s = float(rng.uniform(0.8, 1.25))
    img = cv2.resize(src.image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 70))])
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if out is None:
        raise RuntimeError("JPEG round trip failed")
    return src, s, np.asarray(out)


def _image_spec(ref: Any, element_id: str) -> Any:
    from rpa_vision.locate import TargetSpec

    crop = ref.crop(ref.element(element_id))
    return TargetSpec(crop, Box(0, 0, crop.shape[1], crop.shape[0]))


def twin_outcomes(locator: Any, suite: Any, seeds: Iterable[int], ids: Sequence[str] = TWINS,
                  kinds: Sequence[str] = HELD_OUT_SOURCES) -> Tally:
    """Locate each twin on each remote screen."""
    from rpa_vision.core.frame import Frame

    ref = suite.get("qt_base")
    act = locator.config.act_threshold
    t = Tally()
    for seed in seeds:
        src, s, img = remote_screen(suite, seed, kinds)
        frame = Frame.from_array(img, "BGR")
        for eid in ids:
            cands = locator.locate(_image_spec(ref, eid), frame, 3)
            truth = src.element(eid).box.scale(s, s)
            right = bool(cands) and cands[0].box.iou(truth) > 0.4
            t.add(f"remote-{seed}", eid, right, cands[0].confidence if cands else 0.0, act)
    return t


def record_feedback(locator: Any, suite: Any, sink: Any, first_seed: int, limit: int = 20) -> tuple[int, int]:
    """Replay the twins on fresh remote screens; whenever the Locator would ask or is wrong, a person
    answers and the replayer's feedback sink records it (confirmation when the proposal was right,
    correction otherwise; negatives: the other candidates). Returns (examples, screens used)."""
    from rpa_vision.core.frame import Frame

    ref = suite.get("qt_base")
    act = locator.config.act_threshold
    n, seed = 0, first_seed
    while n < limit and seed < first_seed + 200:
        src, s, img = remote_screen(suite, seed, TRAIN_SOURCES)
        frame = Frame.from_array(img, "BGR")
        for step, eid in enumerate(TWINS):
            if n >= limit:
                break
            cands = locator.locate(_image_spec(ref, eid), frame, 5)
            truth = src.element(eid).box.scale(s, s)
            right = bool(cands) and cands[0].box.iou(truth) > 0.4
            if right and cands[0].confidence >= act:
                continue  # acted without asking: nothing to learn from
            negatives = [frame.crop(c.box) for c in cands if c.box.iou(truth) < 0.3][:4]
            sink.record("confirmation" if right else "correction", ref.crop(ref.element(eid)), frame.crop(truth),
                        negatives, {"workflow": "qt-toolbar", "step": step, "text": ""})
            n += 1
        seed += 1
    return n, seed - first_seed


def suite_outcomes(locator: Any, suite: Any, per_screen: int = 3) -> Tally:
    """Replay-style locates (reference screenshot + box) of a fixed sample of clickable elements on
    every perturbed suite screen: the regression check."""
    from rpa_vision.locate import TargetSpec

    act = locator.config.act_threshold
    t = Tally()
    for ref, scr in suite.pairs():
        common = [e for e in ref.clickable if scr.element(e.id) is not None]
        if not common:
            continue
        step = max(1, len(common) // per_screen)
        for el in common[::step][:per_screen]:
            cands = locator.locate(TargetSpec.from_reference(ref.image, el.box), scr.frame(), 3)
            truth = scr.element(el.id).box
            right = bool(cands) and cands[0].box.iou(truth) > 0.4
            t.add(scr.config, el.id, right, cands[0].confidence if cands else 0.0, act)
    return t


@dataclass
class LearningReport:
    held_before: Tally
    held_after: Tally
    suite_before: Tally
    suite_after: Tally
    examples: int
    screens: int
    adapter_version: int
    run: Any  # the fine-tuner's RunRecord
    train_wall_s: float

    def table(self) -> str:
        r = self.run
        return "\n".join([
            f"held-out twins before: {self.held_before.line()}",
            f"held-out twins after : {self.held_after.line()}",
            f"suite before         : {self.suite_before.line()}",
            f"suite after          : {self.suite_after.line()}",
            f"feedback: {self.examples} examples from {self.screens} screens; adapter v{self.adapter_version}; "
            f"validation {r.val_accuracy_before} -> {r.val_accuracy_after}; training {r.duration_s:.2f} s "
            f"(background run, {self.train_wall_s:.1f} s wall incl. start)",
        ])


def learning_scenario(home: Path, *, held_out: int = 12, per_screen: int = 3, check_suite: bool = True,
                      timeout_s: float = 600.0) -> LearningReport:
    from benchmarks.suite.load import load_suite
    from rpa_vision.finetune import FineTuneConfig, FineTuner
    from rpa_vision.locate import LocatorConfig
    from rpa_vision.locate.backends import default_encoder
    from rpa_vision.workflow.feedback import ExampleStoreSink
    from rpa_vision.workflow.runtime import adapted_locator

    suite = load_suite()
    paths = Paths(home).ensure()
    locator = adapted_locator(paths, LocatorConfig(use_ocr=False))
    seeds = range(held_out)  # held-out remote screens; feedback comes from seeds >= 1000
    held_before = twin_outcomes(locator, suite, seeds)
    suite_before = suite_outcomes(locator, suite, per_screen) if check_suite else Tally()
    tuner = FineTuner.for_encoder(paths, default_encoder(), FineTuneConfig(auto_after=20))
    try:
        examples, screens = record_feedback(locator, suite, ExampleStoreSink(paths), 1000, 20)
        t0 = time.perf_counter()
        tuner.start(poll_s=0.2)
        while time.perf_counter() - t0 < timeout_s:
            st = tuner.status()
            if st.last_run is not None and st.state == "idle":
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        last = tuner.status().last_run
        version = tuner.registry.current.version
    finally:
        tuner.close()
    held_after = twin_outcomes(locator, suite, seeds)
    suite_after = suite_outcomes(locator, suite, per_screen) if check_suite else Tally()
    return LearningReport(held_before, held_after, suite_before, suite_after, examples, screens, version, last, wall)


@bench_case("learning_lookalikes", "finetune", quick=False)
def learning(ctx: BenchContext) -> None:
    """Copy/Duplicate icons through a remote session: Locator outcomes before/after <= 20 answers."""
    with tempfile.TemporaryDirectory() as d:
        rep = learning_scenario(Path(d), held_out=12, per_screen=3)
    print(rep.table())
    ctx.value("held_out_correct_before", rep.held_before.rate("correct") * 100, "%")
    ctx.value("held_out_correct_after", rep.held_after.rate("correct") * 100, "%", target=">= 95 %",
              extra={"examples": rep.examples, "asks_before": rep.held_before.asks,
                     "wrong_before": rep.held_before.wrong})
    ctx.value("suite_correct_before", rep.suite_before.rate("correct") * 100, "%")
    ctx.value("suite_correct_after", rep.suite_after.rate("correct") * 100, "%", target=">= before",
              extra={"wrong_before": rep.suite_before.wrong, "wrong_after": rep.suite_after.wrong})


# --- speed -------------------------------------------------------------------------------------
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
            tuner.clear_vector_cache()  # embed + train: a cold run (a new process, nothing embedded yet)
            tuner.run()

        ctx.time("train_100_examples", once, repeats=4, warmup=1, unit="ms", target="<= 3000 ms")

    from rpa_vision.embedding import create_encoder

    with tempfile.TemporaryDirectory() as d:  # the same with the builtin encoder (659-D), embedding included
        tuner = FineTuner.for_encoder(Paths(Path(d)), create_encoder("builtin"), FineTuneConfig(auto_after=0),
                                      shared=False)
        _feed(tuner, 100)

        def once_builtin() -> None:
            tuner.clear_vector_cache()
            tuner.run()

        ctx.time("train_100_examples_builtin", once_builtin, repeats=4, warmup=1, unit="ms", target="<= 3000 ms")


def _frames(n: int) -> list[Any]:
    from rpa_vision.core.frame import Frame

    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        img = np.full((1080, 1920, 3), 240, np.uint8)
        for _ in range(60):
            x, y = int(rng.integers(0, 1800)), int(rng.integers(0, 1040))
            img[y:y + 30, x:x + 110] = rng.integers(0, 255, 3)
        img[0:20, 0:20] = i
        frames.append(Frame.from_array(img))
    return frames


@bench_case("perception_while_training", "finetune")
def perception_while_training(ctx: BenchContext) -> None:
    """Perception p50 on 1080p frames (caches off: every call perceives) while the fine-tuner trains
    in a background thread (niced, as FineTuner's), vs idle: blocks of idle and busy calls alternate
    in the same run, so a change of machine load affects both alike."""
    from rpa_vision.core.frame import Frame
    from rpa_vision.embedding import create_encoder
    from rpa_vision.finetune import FineTuneConfig, FineTuner, TrainingSkipped
    from rpa_vision.finetune.training import lower_thread_priority
    from rpa_vision.perception import Perceiver, PerceiverConfig

    frames = _frames(4)
    # screen cache off and a one-entry embedding cache: every call perceives a new screen
    perceiver = Perceiver(create_encoder("builtin"), config=PerceiverConfig(screen_cache=0, cache_entries=1))
    k = [0]

    def perceive() -> float:
        k[0] += 1
        f = frames[k[0] % len(frames)]
        t0 = time.perf_counter()
        perceiver.perceive(Frame.from_array(f.pixels.copy(), timestamp=float(k[0])))
        return (time.perf_counter() - t0) * 1000.0

    for _ in range(2):
        perceive()
    rounds, block = (4, 5) if ctx.quick else (8, 5)
    stop, active, busy, cancel = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    runs = [0]
    idle_ms: list[float] = []
    busy_ms: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        tuner = FineTuner(Paths(Path(d)), pixel_embed, {"name": "pixel16", "dim": 256}, 256,
                          FineTuneConfig(auto_after=0))
        _feed(tuner, 100)
        tuner.run()  # torch imported and warm: the figure is about training, not the first import

        def trainer() -> None:  # what FineTuner's background thread does
            lower_thread_priority()
            while not stop.is_set():
                if not active.wait(0.05):
                    continue
                busy.set()
                try:  # embeddings stay cached between runs, as in FineTuner: a run is mostly epochs
                    tuner.run(cancel)
                    runs[0] += 1
                except TrainingSkipped:
                    pass  # cancelled for an idle block
                finally:
                    cancel.clear()
                    busy.clear()

        th = threading.Thread(target=trainer, daemon=True, name="bench-finetune")
        th.start()
        try:
            for _ in range(rounds):
                active.clear()
                cancel.set()
                while busy.is_set():
                    time.sleep(0.005)
                idle_ms += [perceive() for _ in range(block)]
                active.set()
                busy.wait(5.0)
                time.sleep(0.1)  # into the epochs
                busy_ms += [perceive() for _ in range(block)]
        finally:
            stop.set()
            active.clear()
            cancel.set()
            th.join()
    idle_p50, busy_p50 = float(np.median(idle_ms)), float(np.median(busy_ms))
    ctx.value("perceive_idle_p50", idle_p50, "ms", extra={"p90": float(np.percentile(idle_ms, 90)), "n": len(idle_ms)})
    ctx.value("perceive_while_training_p50", busy_p50, "ms", target="<= 1.5x idle p50",
              extra={"p90": float(np.percentile(busy_ms, 90)), "n": len(busy_ms)})
    ctx.value("slowdown_p50", busy_p50 / max(idle_p50, 1e-9), "x", target="<= 1.5 x",
              extra={"training_runs_completed": runs[0]})
