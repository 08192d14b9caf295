"""Waits: inferred by the recorder from timing and screen changes, honoured by the replayer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.cli import main
from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import Action, ActionKind, Button, EventKind, InputEvent
from rpa_vision.core.frame import Frame
from rpa_vision.core.paths import Paths
from rpa_vision.input import ActionNormalizer
from rpa_vision.workflow.decisions import ScriptedDecisionProvider
from rpa_vision.workflow.model import StateSnapshot, Step, Workflow, migrate
from rpa_vision.workflow.recorder import FrameRing, Recorder, RecorderConfig
from rpa_vision.workflow.replayer import ReplayConfig, Replayer, ReplayEvent
from rpa_vision.workflow.state import ThumbnailStateEncoder, similarity, thumbnail
from rpa_vision.workflow.store import WorkflowStore
from rpa_vision.workflow.targets import TargetFinder
from rpa_vision.workflow.waits import ChangeLog, WaitRule, infer_wait, wait_timeout
from tests.workflow.fakes import (
    FAST,
    AppPerformer,
    FakeApp,
    FakeInput,
    MiniNormalizer,
    TemplateLocator,
    bgr_frame,
    button_regions,
    record,
)

ENC = ThumbnailStateEncoder()


def _dialog(app: FakeApp) -> np.ndarray:
    """The app with a dialog over its lower part (what a slow application shows late)."""
    img = app.render()
    ox, oy = app.offset
    img[oy + 152:oy + 198, ox + 90:ox + 258] = (60, 50, 40)
    img[oy + 165:oy + 180, ox + 100:ox + 240] = (230, 230, 230)
    return img


def _caret(app: FakeApp) -> np.ndarray:
    img = app.render()
    img[60:74, 200:202] = 0  # a 2x14 px caret in the display
    return img


# --- the change log and the rule -------------------------------------------------------------------


def test_change_log_ignores_a_caret_but_sees_a_dialog() -> None:
    app = FakeApp()
    log = ChangeLog()
    log.push(1.0, bgr_frame(app.render()))
    log.push(2.0, bgr_frame(app.render()))  # the same screen again
    log.push(3.0, bgr_frame(_caret(app)))
    log.push(4.0, bgr_frame(_dialog(app)))
    assert log.changes(0.0, 10.0, 0.01) == [1.0, 4.0]  # the first frame counts as a change
    assert log.changes(1.0, 4.0, 0.01) == []  # the interval is open at both ends
    assert log.covers(1.0) and not log.covers(0.5)


def test_infer_wait_rule() -> None:
    app = FakeApp()
    log = ChangeLog()
    log.push(0.5, bgr_frame(app.render()))
    log.push(3.0, bgr_frame(_dialog(app)))
    rule = WaitRule()
    assert infer_wait(log, 1.0, 4.0, rule) == pytest.approx(2.0)
    assert infer_wait(log, 1.0, 3.2, rule) is None  # acted 0.2 s after the change: not settled
    assert infer_wait(log, 2.7, 4.0, rule) is None  # the change was the immediate reaction
    assert infer_wait(log, 1.0, 2.4, rule) is None  # gap shorter than gap_s (and no change in it)
    assert infer_wait(log, 0.1, 4.0, rule) is None  # the log does not reach back to the action
    assert wait_timeout(1.0) == 5.0 and wait_timeout(4.0) == 12.0 and wait_timeout(100.0, 60.0) == 60.0
    with pytest.raises(ValidationError):
        RecorderConfig(wait_gap_s=0.4, wait_react_s=0.5)
    with pytest.raises(ValidationError):
        RecorderConfig(wait_min_change=0.0)


# --- recording -----------------------------------------------------------------------------------------


class _Rec:
    def __init__(self, app: FakeApp, config: RecorderConfig | None = None, normalizer: Any = None) -> None:
        self.app, self.inp, self.ring = app, FakeInput(), FrameRing()
        self.ring.push(bgr_frame(app.render()), t=0.5)
        self.rec = Recorder("calc", self.inp, normalizer or MiniNormalizer(), self.ring,
                            TargetFinder(button_regions(app)), ENC, config=config)
        self.rec.start()

    def click(self, name: str, t: float) -> None:
        p = self.app.button_box(name).center
        self.inp.emit(InputEvent(EventKind.PRESS, t=t, point=p, button=Button.LEFT))
        self.inp.emit(InputEvent(EventKind.RELEASE, t=t + 0.05, point=p, button=Button.LEFT))
        self.app.pressed.append(name)
        self.ring.push(bgr_frame(self.app.render()), t=t + 0.15)  # the immediate reaction

    def push(self, img: np.ndarray, t: float) -> None:
        self.ring.push(bgr_frame(img), t=t)


@pytest.mark.parametrize("normalizer", ["mini", "real"])
def test_a_late_screen_change_between_two_clicks_becomes_one_wait_step(home: Path, normalizer: str) -> None:
    app = FakeApp()
    r = _Rec(app, normalizer=ActionNormalizer() if normalizer == "real" else None)
    r.click("one", 1.0)  # ends at 1.05
    r.push(_dialog(app), 2.2)  # the application answers late, in two stages
    loaded = _dialog(app)
    loaded[250:280, 20:380] = (20, 20, 20)  # and a status bar
    r.push(loaded, 3.0)
    r.push(loaded, 3.5)  # the same screen again: not a change
    r.click("two", 4.0)
    wf, images = r.rec.finish()
    assert [s.action.kind for s in wf.steps] == [ActionKind.CLICK, ActionKind.WAIT, ActionKind.CLICK]
    wait = wf.steps[1]
    assert wait.action.duration_s == pytest.approx(3.0 - 1.05, abs=1e-3)  # until the last change
    assert wait.action.timeout_s == pytest.approx(wait_timeout(3.0 - 1.05))
    assert wait.before is None and wait.target is None
    assert wait.after is not None and wait.after.vector is not None
    assert similarity(wait.after.vector, ENC.state_vector(bgr_frame(loaded))) > 0.999  # the settled screen
    assert wait.after.thumb in images
    assert wf.steps[2].delay_s == pytest.approx(4.0 - 3.0, abs=1e-3)
    assert "for the screen to settle (recorded 1.9 s)" in wait.describe()
    store = WorkflowStore(Paths.resolve(home))
    store.save(wf, images)
    again = store.load("calc").steps[1]
    assert again.action.kind is ActionKind.WAIT and again.action.timeout_s == wait.action.timeout_s


@pytest.mark.parametrize("case", ["still", "same frame again", "caret", "changing until the click", "short gap",
                                  "off"])
def test_no_wait_step_without_a_late_settled_change(case: str) -> None:
    app = FakeApp()
    r = _Rec(app, RecorderConfig(infer_waits=case != "off"))
    r.click("one", 1.0)
    nxt = 5.0
    if case == "same frame again":
        r.push(app.render(), 3.0)
    elif case == "caret":
        r.push(_caret(app), 3.0)
        r.push(app.render(), 3.5)
    elif case == "changing until the click":
        r.push(_dialog(app), 4.9)
    elif case == "short gap":
        r.push(_dialog(app), 1.8)
        nxt = 2.4
    elif case == "off":
        r.push(_dialog(app), 3.0)
    r.click("two", nxt)
    wf, _ = r.rec.finish()
    assert [s.action.kind for s in wf.steps] == [ActionKind.CLICK, ActionKind.CLICK]
    assert wf.steps[1].delay_s == pytest.approx(nxt - 1.0, abs=1e-3)


@pytest.mark.parametrize("normalizer", ["mini", "real"])
def test_typing_ends_at_its_last_key(normalizer: str) -> None:
    """The gap starts when the typing ended, not when it began: the echo of the keys is no wait."""
    app = FakeApp()
    r = _Rec(app, normalizer=ActionNormalizer() if normalizer == "real" else None)
    t = 1.0
    for c in "hello":
        r.inp.emit(InputEvent(EventKind.KEY_DOWN, t=t, key=c, char=c))
        r.inp.emit(InputEvent(EventKind.KEY_UP, t=t + 0.05, key=c))
        r.push(_dialog(app) if c == "o" else app.render(), t + 0.1)
        t += 0.4  # the last key ends at 2.65; its echo (a big change) at 2.7
    r.click("two", 3.6)
    wf, _ = r.rec.finish()
    assert [s.action.kind for s in wf.steps] == [ActionKind.TYPE, ActionKind.CLICK]


# --- replaying -----------------------------------------------------------------------------------------


def _loading(app: FakeApp) -> np.ndarray:
    """The app while it loads: a blank panel over the whole window (no button to be seen)."""
    img = app.render()
    box = app.button_box("one")
    x0, y0 = int(box.x1) - 30, int(box.y1) - 70
    img[y0:y0 + 200, x0:x0 + 260] = (210, 210, 210)
    return img


class _SlowScreen:
    """The app; once ``load(n)`` is called, a loading screen for ``n`` grabs (None: for ever), then
    the dialog."""

    def __init__(self, app: FakeApp) -> None:
        self.app, self.grabs = app, 0
        self.ready_at: int | None = 0  # the grab from which the dialog shows (None: never); 0: not loading
        self.loading = False

    def load(self, grabs: int | None) -> None:
        self.loading = True
        self.ready_at = None if grabs is None else self.grabs + grabs

    def grab(self) -> Frame:
        self.grabs += 1
        if not self.loading:
            return bgr_frame(self.app.render())
        ready = self.ready_at is not None and self.grabs > self.ready_at
        return bgr_frame(_dialog(self.app) if ready else _loading(self.app))


def _wait_workflow(store: WorkflowStore, app: FakeApp, *, timeout_s: float, duration_s: float = 30.0,
                   with_state: bool = True) -> Workflow:
    """click "one", wait for the dialog, click "two"."""
    wf, images = record(app, ["one", "two"], "calc")
    after = None
    if with_state:
        images["step-001-after-thumb.png"] = thumbnail(bgr_frame(_dialog(app)))
        after = StateSnapshot("step-001-after-thumb.png", None, ENC.state_vector(bgr_frame(_dialog(app))), ENC.name)
    wait = Step(1, Action(ActionKind.WAIT, t=1.5, duration_s=duration_s, timeout_s=timeout_s), after=after)
    wf = replace(wf, steps=(wf.steps[0], wait, replace(wf.steps[1], index=2)))
    store.save(wf, images)
    return store.load("calc")


def _replay(store: WorkflowStore, app: FakeApp, screen: _SlowScreen, load: int | None = None,
            **cfg: object) -> Replayer:
    """A replayer on ``screen``; when the wait step starts, the screen loads for ``load`` grabs."""
    def observe(ev: ReplayEvent) -> None:
        if ev.kind == "step_started" and ev.step_index == 1:
            screen.load(load)

    return Replayer(store.load("calc"), store, screen, TemplateLocator(), AppPerformer(app),
                    ScriptedDecisionProvider(), ENC, config=ReplayConfig(**{**FAST, **cfg}),  # type: ignore[arg-type]
                    observer=observe)


@pytest.fixture()
def store(home: Path) -> WorkflowStore:
    return WorkflowStore(Paths.resolve(home))


def _sim(a: np.ndarray, b: np.ndarray) -> float:
    return similarity(ENC.state_vector(bgr_frame(a)), ENC.state_vector(bgr_frame(b)))


def test_replay_wait_returns_as_soon_as_the_screen_settles(store: WorkflowStore) -> None:
    app = FakeApp()
    _wait_workflow(store, app, timeout_s=90.0, duration_s=30.0)
    assert _sim(_loading(app), _dialog(app)) < 0.92  # the loading screen does not pass for the settled one
    screen = _SlowScreen(app)
    rep = _replay(store, app, screen, load=3).run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "two"]
    wait = rep.steps[1]
    assert wait.ok and wait.action == "wait" and wait.message == ""
    assert wait.state_score is not None and wait.state_score >= 0.92
    assert wait.waited_s is not None and 0.05 <= wait.waited_s < 2.0  # not the 30 s recorded
    assert rep.to_json()["steps"][1]["waited_s"] == pytest.approx(wait.waited_s, abs=1e-3)


def test_replay_wait_times_out_with_a_clear_message(store: WorkflowStore) -> None:
    app = FakeApp()
    _wait_workflow(store, app, timeout_s=0.15, duration_s=0.05)
    rep = _replay(store, app, _SlowScreen(app), load=None).run()
    assert rep.status == "failed"
    assert rep.message.startswith("step 2: waited 0.15 s for the screen to settle")
    assert "never did" in rep.message
    assert app.pressed == ["one"]  # the step after the wait never ran
    assert not rep.steps[1].ok and rep.steps[1].waited_s is not None and rep.steps[1].waited_s >= 0.15
    assert len(rep.steps) == 2


def test_replay_wait_on_a_moved_window_goes_on_when_the_next_target_is_there(store: WorkflowStore) -> None:
    _wait_workflow(store, FakeApp(), timeout_s=5.0, duration_s=0.1)
    app = FakeApp(offset=(110, 70))
    assert _sim(_dialog(app), _dialog(FakeApp())) < 0.92  # the settled screen never matches the recorded one
    rep = _replay(store, app, _SlowScreen(app), load=3).run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "two"]
    wait = rep.steps[1]
    assert "next step's target" in wait.message and wait.waited_s is not None and wait.waited_s < 4.0


def test_replay_wait_without_a_state_sleeps_the_recorded_time(store: WorkflowStore) -> None:
    app = FakeApp()
    _wait_workflow(store, app, timeout_s=0.0, duration_s=0.05, with_state=False)
    screen = _SlowScreen(app)
    grabs: list[int] = []
    r = _replay(store, app, screen)
    r.observer = lambda ev: grabs.append(screen.grabs) if ev.step_index == 1 else None
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert grabs[0] == grabs[-1]  # no screen was looked at during the wait
    assert rep.steps[1].waited_s is not None and rep.steps[1].waited_s >= 0.05
    assert store.load("calc").steps[1].describe() == "wait 0.1 s"


# --- the file format and the library -------------------------------------------------------------------


def test_older_files_without_a_timeout_still_load(store: WorkflowStore) -> None:
    app = FakeApp()
    wf = _wait_workflow(store, app, timeout_s=12.0, duration_s=3.4)
    doc = wf.to_json()
    assert doc["steps"][1]["action"]["timeout_s"] == 12.0
    del doc["steps"][1]["action"]["timeout_s"]
    old = Workflow.from_json(migrate(json.loads(json.dumps(doc))))
    assert old.steps[1].action.timeout_s == 0.0 and old.steps[1].action.duration_s == 3.4
    assert old.steps[1].describe() == "wait for the screen to settle (recorded 3.4 s)"
    assert [s.action.timeout_s for s in old.steps] == [0.0, 0.0, 0.0]
    with pytest.raises(ValidationError):
        Action(ActionKind.WAIT, duration_s=1.0, timeout_s=-1.0)


def test_show_describes_a_wait_step(store: WorkflowStore, capsys: pytest.CaptureFixture[str]) -> None:
    _wait_workflow(store, FakeApp(), timeout_s=12.0, duration_s=3.4)
    assert main(["show", "calc"]) == 0
    out = capsys.readouterr().out
    assert "2. wait up to 12 s for the screen to settle (recorded 3.4 s)" in out
