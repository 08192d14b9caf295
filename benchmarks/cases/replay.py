"""Replay figures: what the replayer itself costs per step, beyond the application and the locator.

* ``step_overhead``: a drawn application that reacts at once, a locator that answers at once
  (the recorded box), a player that does nothing but make the application react: the time per
  step is the replayer's own work (state vectors, frame comparisons, verification, report).
* ``step_overhead_moved``: the same on a moved window (the state does not match, so the step
  waits for the screen to settle and heals the target: the cost of self-healing included).
* ``step_real_locator``: the shipped xcalc example replayed (dry run) on the test-suite
  screenshot of a moved xcalc with the real Locator; ``locate_only`` is the Locator alone on the
  same queries, so the difference is the replayer's overhead around it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import Decision, Located, ScriptedDecisionProvider
from rpa_vision.workflow.model import ScreenInfo, StateSnapshot, Step, Target, Workflow
from rpa_vision.workflow.query import TargetQuery
from rpa_vision.workflow.replayer import ReplayConfig, Replayer
from rpa_vision.workflow.state import ThumbnailStateEncoder, thumbnail
from rpa_vision.workflow.store import WorkflowStore

REPO = Path(__file__).resolve().parents[2]
W, H = 1920, 1080
BUTTONS = [(200 + 90 * i, 300) for i in range(6)]


class _App:
    """Six textured buttons and a counter bar; a click on a button lengthens the bar."""

    def __init__(self, dx: int = 0, dy: int = 0) -> None:
        self.dx, self.dy, self.clicks = dx, dy, 0
        rng = np.random.default_rng(7)
        self.tex = [cv2.resize(rng.integers(0, 255, (8, 16, 3), dtype=np.uint8), (64, 32),
                               interpolation=cv2.INTER_NEAREST) for _ in BUTTONS]

    def box(self, i: int) -> Box:
        x, y = BUTTONS[i]
        return Box(x + self.dx, y + self.dy, x + self.dx + 64, y + self.dy + 32)

    def render(self) -> np.ndarray:
        img = np.full((H, W, 3), 60, np.uint8)
        img[200 + self.dy:420 + self.dy, 150 + self.dx:800 + self.dx] = 230
        img[220 + self.dy:260 + self.dy, 170 + self.dx:170 + self.dx + 10 * (self.clicks % 60)] = 20
        for i in range(len(BUTTONS)):
            b = self.box(i)
            img[int(b.y1):int(b.y2), int(b.x1):int(b.x2)] = self.tex[i]
        return img

    def grab(self) -> Frame:
        return Frame.from_array(self.render())

    def perform(self, action: Action) -> None:
        self.clicks += 1


class _InstantLocator:
    """Answers with the box where the target is on the app (no search)."""

    def __init__(self, app: _App) -> None:
        self.app = app

    def locate(self, query: TargetQuery, frame: Frame, top_k: int) -> Sequence[Located]:
        i = min(range(len(BUTTONS)), key=lambda k: self.app.box(k).center.distance(
            query.box.translate(self.app.dx, self.app.dy).center))
        return [Located(self.app.box(i), 0.99, 0.99)]


def _record(app: _App, store: WorkflowStore, n: int) -> Workflow:
    enc = ThumbnailStateEncoder()
    images: dict[str, np.ndarray] = {}
    steps = []
    for i in range(n):
        before = app.grab()
        box = app.box(i % len(BUTTONS))
        pre = f"step-{i:03d}-"
        images[pre + "target.png"] = before.crop(box)
        images[pre + "before.png"] = before.bgr()
        images[pre + "before-thumb.png"] = thumbnail(before)
        app.perform(Action(ActionKind.CLICK, point=box.center))
        after = app.grab()
        images[pre + "after-thumb.png"] = thumbnail(after)
        steps.append(Step(i, Action(ActionKind.CLICK, point=Point(box.center.x, box.center.y)),
                          Target(pre + "target.png", box),
                          StateSnapshot(pre + "before-thumb.png", pre + "before.png", enc.state_vector(before),
                                        enc.name),
                          StateSnapshot(pre + "after-thumb.png", None, enc.state_vector(after), enc.name),
                          expect_change=True))
    app.clicks = 0
    wf = Workflow("bench", ScreenInfo(W, H), tuple(steps), encoder=enc.provenance())
    store.save(wf, images, overwrite=True)
    return store.load("bench")


def _per_step(ctx: BenchContext, name: str, dx: int, dy: int, heal: bool, stable_s: float | None = None,
              target: str | None = None) -> None:
    n = 6
    with tempfile.TemporaryDirectory() as tmp:
        store = WorkflowStore(Paths.resolve(tmp))
        wf = _record(_App(), store, n)
        cfg = ReplayConfig(poll_s=0.02, verify_timeout_s=0.5, heal=heal)
        if stable_s is not None:
            cfg = replace(cfg, stable_s=stable_s)

        def run() -> None:
            app = _App(dx, dy)
            r = Replayer(wf, store, app, _InstantLocator(app), app, ScriptedDecisionProvider(),
                         ThumbnailStateEncoder(), config=cfg)
            rep = r.run()
            if rep.status != "ok":
                raise RuntimeError(f"bench replay failed: {rep.message}")

        ctx.time(name, run, repeats=3 if ctx.quick else 8, warmup=1, per=n, target=target,
                 extra={"steps": n, "screen": f"{W}x{H}", "settle_s": cfg.settle_s, "stable_s": cfg.stable_s})


@bench_case("step_overhead", "replay")
def step_overhead(ctx: BenchContext) -> None:
    """Replayer work per step on an unchanged screen (instant app, instant locator): with the default
    settle watch (the screen must stay unchanged ``stable_s`` = 0.1 s before a matching state counts)
    and without it (the replayer's own computing: state vectors, frame comparisons, verification)."""
    _per_step(ctx, "per_step_same_screen", 0, 0, heal=False, target="<= 150 ms")
    _per_step(ctx, "per_step_same_screen_compute", 0, 0, heal=False, stable_s=0.0, target="<= 50 ms")


@bench_case("step_overhead_moved", "replay", quick=False)
def step_overhead_moved(ctx: BenchContext) -> None:
    """Per step on a moved window: settle wait + healing (crop, screenshot PNG, atomic update)."""
    _per_step(ctx, "per_step_moved_with_healing", 140, 90, heal=True)


@bench_case("step_real_locator", "replay", quick=False)
def step_real_locator(ctx: BenchContext) -> None:
    """The xcalc example (dry run) on the suite's moved-xcalc screenshot with the real Locator."""
    shot_path = REPO / "data" / "suite" / "xcalc_moved" / "screen.png"
    example = REPO / "workflows" / "xcalc-multiply"
    if not shot_path.is_file() or not (example / "workflow.json").is_file():
        ctx.value("skipped", 0, "n/a", extra={"reason": "suite screenshot or example workflow missing"})
        return
    from rpa_vision.locate import Locator, LocatorConfig
    from rpa_vision.workflow.runtime import LocatorAdapter

    shot = cv2.imread(str(shot_path), cv2.IMREAD_COLOR)
    if shot is None:
        ctx.value("skipped", 0, "n/a", extra={"reason": f"cannot read {shot_path}"})
        return
    frame = Frame.from_array(shot)
    adapter = LocatorAdapter(Locator(config=LocatorConfig(use_ocr=False)))

    class _Still:
        def grab(self) -> Frame:
            return frame

        def perform(self, action: object) -> None:  # dry runs never act
            raise AssertionError("a dry run acted")

    with tempfile.TemporaryDirectory() as tmp:
        store = WorkflowStore(Paths(Path(tmp)))
        src = WorkflowStore(Paths(REPO))
        wf = src.load("xcalc-multiply")
        store.save(wf, {f: src.image(wf, f) for f in wf.files()})
        wf = store.load("xcalc-multiply")
        pointer = [s for s in wf.steps if s.action.is_pointer]
        cfg = ReplayConfig(dry_run=True, poll_s=0.02, on_low_confidence="skip")

        def replay() -> None:
            r = Replayer(wf, store, _Still(), adapter, _Still(), ScriptedDecisionProvider(default=Decision.skip()),
                         ThumbnailStateEncoder(), config=cfg)
            r.run()

        def locate_only() -> None:
            r = Replayer(wf, store, _Still(), adapter, _Still(), ScriptedDecisionProvider(),
                         ThumbnailStateEncoder(), config=cfg)
            for s in pointer:
                adapter.locate(r._query(s, frame), frame, cfg.top_k)

        reps = 3
        t0 = time.perf_counter()
        ctx.time("locate_only_per_step", locate_only, repeats=reps, warmup=1, per=len(pointer))
        ctx.time("dry_run_per_step", replay, repeats=reps, warmup=0, per=len(pointer),
                 baseline="locate_only_per_step",
                 extra={"steps": len(wf.steps), "pointer_steps": len(pointer), "settle_s": cfg.settle_s,
                        "wall_s": round(time.perf_counter() - t0, 1)})
