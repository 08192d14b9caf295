"""The changed part of a recorded wait, and a replayed WAIT step for a small dialog on a large screen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.frame import Frame
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import ScriptedDecisionProvider
from rpa_vision.workflow.model import StateSnapshot, Step
from rpa_vision.workflow.replayer import ReplayConfig, Replayer, ReplayEvent
from rpa_vision.workflow.settled import AGREE, MIN_CELLS, ChangedPart
from rpa_vision.workflow.state import ThumbnailStateEncoder, similarity, thumbnail
from rpa_vision.workflow.store import WorkflowStore
from tests.workflow.fakes import FAST, AppPerformer, FakeApp, TemplateLocator, bgr_frame, record

ENC = ThumbnailStateEncoder()


def _small_dialog(app: FakeApp) -> np.ndarray:
    """The app with a small dialog in an empty corner of its window (about 1.5 % of the screen)."""
    img = app.render()
    ox, oy = app.offset
    img[oy + 152:oy + 182, ox + 180:ox + 240] = (60, 50, 40)
    img[oy + 160:oy + 168, ox + 186:ox + 234] = (230, 230, 230)
    return img


def test_changed_part_sees_where_the_screen_changed() -> None:
    app = FakeApp()
    before, settled = app.render(), _small_dialog(app)
    part = ChangedPart.between(thumbnail(bgr_frame(before)), thumbnail(bgr_frame(settled)))
    assert part is not None and part.cells >= MIN_CELLS
    assert part.agreement(before) == 0.0
    assert part.agreement(settled) == 1.0
    assert part.agreement(thumbnail(bgr_frame(settled))) == 1.0  # any size of the same aspect
    assert part.agreement(settled[:, :200]) is None  # another aspect: not comparable
    half = settled.copy()
    ox, oy = app.offset
    half[oy + 152:oy + 182, ox + 180:ox + 210] = before[oy + 152:oy + 182, ox + 180:ox + 210]
    agreement = part.agreement(half)
    assert agreement is not None and 0.3 < agreement < AGREE  # half a dialog is not the settled screen


def test_no_changed_part_for_identical_or_mismatched_thumbnails() -> None:
    img = FakeApp().render()
    assert ChangedPart.between(img, img.copy()) is None
    assert ChangedPart.between(img, img[:, :200]) is None
    caret = img.copy()
    caret[60:74, 200:202] = 0  # smaller than one cell's worth of change
    assert ChangedPart.between(img, caret) is None


class _Screen:
    """The app; from the grab after the WAIT step started, ``dialog_after`` more grabs until the
    small dialog shows (None: it never does)."""

    def __init__(self, app: FakeApp, dialog_after: int | None) -> None:
        self.app, self.grabs, self.dialog_after = app, 0, dialog_after
        self.ready_at: int | None = None

    def start_wait(self) -> None:
        if self.dialog_after is not None:
            self.ready_at = self.grabs + self.dialog_after

    def grab(self) -> Frame:
        self.grabs += 1
        ready = self.ready_at is not None and self.grabs > self.ready_at
        return bgr_frame(_small_dialog(self.app) if ready else self.app.render())


def _replay(home: Path, dialog_after: int | None, timeout_s: float) -> tuple[Replayer, FakeApp, _Screen]:
    """Recorded: click "one", a wait of 30 s for the small dialog, click "two"."""
    store = WorkflowStore(Paths.resolve(home))
    rec_app = FakeApp()
    wf, images = record(rec_app, ["one", "two"], "small")
    settled = bgr_frame(_small_dialog(rec_app))
    images["step-001-after-thumb.png"] = thumbnail(settled)
    after = StateSnapshot("step-001-after-thumb.png", None, ENC.state_vector(settled), ENC.name)
    wait = Step(1, Action(ActionKind.WAIT, t=1.5, duration_s=30.0, timeout_s=timeout_s), after=after)
    store.save(replace(wf, steps=(wf.steps[0], wait, replace(wf.steps[1], index=2))), images)
    app = FakeApp()
    screen = _Screen(app, dialog_after)

    def observe(ev: ReplayEvent) -> None:
        if ev.kind == "step_started" and ev.step_index == 1:
            screen.start_wait()

    r = Replayer(store.load("small"), store, screen, TemplateLocator(), AppPerformer(app), ScriptedDecisionProvider(),
                 ENC, config=ReplayConfig(**FAST), observer=observe)  # type: ignore[arg-type]
    return r, app, screen


def test_replay_wait_is_not_fooled_by_a_small_dialog_that_never_comes(home: Path) -> None:
    app = FakeApp()
    app.pressed.append("one")
    # The premise: the whole screen without the dialog passes for the settled one.
    without, with_dialog = bgr_frame(app.render()), bgr_frame(_small_dialog(app))
    assert similarity(ENC.state_vector(without), ENC.state_vector(with_dialog)) >= 0.92
    r, app, _ = _replay(home, None, timeout_s=0.6)
    rep = r.run()
    assert rep.status == "failed", rep.to_json()
    assert rep.message.startswith("step 2: waited 0.6 s for the screen to settle as recorded")
    assert "the part of the screen that changed when recorded agreed at best on" in rep.message
    assert app.pressed == ["one"]  # nothing after the wait
    assert rep.steps[1].waited_s is not None and rep.steps[1].waited_s >= 0.6


def test_replay_wait_ends_when_the_small_dialog_shows(home: Path) -> None:
    r, app, screen = _replay(home, 10, timeout_s=5.0)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "two"]
    wait = rep.steps[1]
    assert wait.waited_s is not None and wait.waited_s < 3.0
    assert screen.ready_at is not None and screen.grabs > screen.ready_at  # it waited for the dialog


@pytest.mark.parametrize("dialog_after", [0, 3])
def test_replay_wait_with_the_dialog_already_there_or_soon(home: Path, dialog_after: int) -> None:
    r, app, _ = _replay(home, dialog_after, timeout_s=5.0)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "two"]
