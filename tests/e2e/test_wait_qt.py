"""A recorded wait on a slow application: the Qt test app with ``--slow`` under Xvfb.

Recording: xdotool clicks "Details..." on the app started with ``--slow 2`` (the dialog opens
two seconds later), waits for the dialog like a person would, clicks its "Urgent" check box; the
pynput recorder must infer exactly one WAIT step between the two clicks. Replays use the real
capture, Locator and pynput player on a fresh app: as slow as recorded, slower (still within
the step's timeout), and one whose dialog never comes in time (the replay fails at the WAIT
step, and nothing is clicked after it). The app's ``--log`` JSON events are the ground truth.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from rpa_vision.core.events import ActionKind
from rpa_vision.core.paths import Paths
from rpa_vision.testbed.apps import AppLaunchError
from rpa_vision.workflow.decisions import Decision, ScriptedDecisionProvider
from rpa_vision.workflow.model import Workflow
from rpa_vision.workflow.replayer import ReplayConfig
from rpa_vision.workflow.report import ReplayReport
from tests.e2e.test_workflow_qt import Counting, _elements, _events, _launch, display, recording  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORDED_SLOW = 2.0
TARGET = "dlg_chk_urgent"  # inside the dialog; its log event says it was really clicked
WAITED: dict[str, float | None] = {}  # the figures this module measured, printed at the end


def _clicks(log: Path) -> list[str]:
    return [f"{e['event']}:{e['widget']}" for e in _events(log) if e.get("event") in ("clicked", "toggled")]


def _wait_for_dialog(app: Any, timeout: float) -> dict[str, Any]:
    """The dialog's widgets, once the app rewrote its geometry dump with the dialog open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            geo = app.geometry()
        except AppLaunchError:  # not readable at this instant: read again
            geo = {}
        if geo.get("dialog"):
            return {k: v for k, v in _elements(app).items() if k.startswith("dlg_")}
        time.sleep(0.1)
    raise AssertionError(f"the dialog did not open within {timeout:g} s")


@pytest.fixture(scope="module")
def recorded(display: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, Workflow]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("wait")
    paths = Paths.resolve(tmp / "home")
    log = tmp / "record.log"
    with recording(display, paths, "slow-dialog", log, slow=RECORDED_SLOW) as run:
        c = run.el["btn_details"].center
        run.xd.click(int(c.x), int(c.y))
        t_click = time.monotonic()
        dlg = _wait_for_dialog(run.app, RECORDED_SLOW + 10.0)
        # A person looks at the opened dialog for a moment before acting: ~3 s after the click.
        time.sleep(max(0.8, t_click + RECORDED_SLOW + 1.0 - time.monotonic()))
        c = dlg[TARGET].center
        run.xd.click(int(c.x), int(c.y))
        time.sleep(0.8)
    wf = run.workflow
    assert run.folder is not None and wf is not None
    assert _clicks(log) == ["clicked:btn_details", f"toggled:{TARGET}"], "the recording itself did not work"
    opened = [e["t"] for e in _events(log) if e.get("event") == "opened"]
    clicked = [e["t"] for e in _events(log) if e.get("widget") == "btn_details"]
    WAITED["app delay (record)"] = round(opened[0] - clicked[0], 2)
    return paths, wf


def test_recording_infers_one_wait_between_the_clicks(recorded: tuple[Paths, Workflow]) -> None:
    _, wf = recorded
    kinds = [s.action.kind for s in wf.steps]
    assert kinds == [ActionKind.CLICK, ActionKind.WAIT, ActionKind.CLICK], [s.describe() for s in wf.steps]
    wait = wf.steps[1].action
    WAITED["recorded"] = wait.duration_s
    # The dialog opens RECORDED_SLOW s after the click (the app's log says when it really did);
    # Qt draws it and the 8 Hz capture sees it a little later.
    delay = WAITED["app delay (record)"]
    assert delay is not None and delay >= RECORDED_SLOW - 0.1
    assert RECORDED_SLOW - 0.2 <= wait.duration_s <= RECORDED_SLOW + 1.5, wait
    assert abs(wait.duration_s - delay) <= 0.75, (wait, delay)
    assert wait.timeout_s is not None and wait.timeout_s >= 5.0
    assert wait.timeout_s == pytest.approx(max(5.0, 3.0 * wait.duration_s), abs=0.02)
    assert wf.steps[1].after is not None  # the settled screen to wait for


def _replay(paths: Paths) -> tuple[ReplayReport, Counting]:
    from rpa_vision.capture import create_screen_source
    from rpa_vision.workflow.runtime import InputPerformer, build_replayer

    src = create_screen_source("mss")
    perf = Counting(InputPerformer(backend="pynput", monitors=src.monitors()))
    # Nobody answers: a replay that would need a person stops instead of guessing.
    decider = ScriptedDecisionProvider(default=Decision.abort("no person in this test"))
    try:
        r = build_replayer("slow-dialog", paths, decider, config=ReplayConfig(state_timeout_s=8.0), source=src,
                           performer=perf)
        return r.run(), perf
    finally:
        perf.close()
        src.close()


@pytest.mark.parametrize("slow", [RECORDED_SLOW, 2 * RECORDED_SLOW])
def test_replay_waits_for_the_slow_dialog(recorded: tuple[Paths, Workflow], display: Any,  # noqa: F811
                                          tmp_path: Path, slow: float) -> None:
    paths, wf = recorded
    log = tmp_path / "replay.log"
    with _launch(display.env, log, slow=slow):
        rep, perf = _replay(paths)
        time.sleep(0.5)
    wait = rep.steps[1] if len(rep.steps) > 1 else None
    WAITED[f"replay --slow {slow:g}"] = None if wait is None else round(wait.waited_s or 0.0, 2)
    assert rep.status == "ok", rep.to_json()
    assert _clicks(log) == ["clicked:btn_details", f"toggled:{TARGET}"], rep.to_json()
    assert [a.kind for a in perf.actions] == [ActionKind.CLICK, ActionKind.CLICK]
    assert wait is not None and wait.action == "wait" and wait.waited_s is not None
    timeout = wf.steps[1].action.timeout_s
    assert timeout is not None
    # It waited for the dialog (which took `slow` s to open), not the recorded time, and not
    # until the timeout.
    assert slow - 0.5 <= wait.waited_s < timeout, rep.to_json()


def test_replay_fails_at_the_wait_when_the_dialog_never_comes(recorded: tuple[Paths, Workflow],
                                                               display: Any, tmp_path: Path) -> None:  # noqa: F811
    paths, wf = recorded
    timeout = wf.steps[1].action.timeout_s
    assert timeout is not None
    log = tmp_path / "replay.log"
    with _launch(display.env, log, slow=timeout + 30.0):  # opens long after the step gave up
        rep, perf = _replay(paths)
        time.sleep(0.5)
    wait = rep.steps[1] if len(rep.steps) > 1 else None
    WAITED["replay, dialog never comes"] = None if wait is None else round(wait.waited_s or 0.0, 2)
    assert rep.status == "failed", rep.to_json()
    assert len(rep.steps) == 2 and wait is not None and wait.action == "wait", rep.to_json()
    assert rep.message.startswith("step 2: waited") and "to settle as recorded" in rep.message, rep.message
    assert wait.waited_s is not None and timeout <= wait.waited_s < timeout + 3.0
    assert [a.kind for a in perf.actions] == [ActionKind.CLICK]  # "Details..." and nothing after the wait
    assert _clicks(log) == ["clicked:btn_details"]


def test_measured_waits(recorded: tuple[Paths, Workflow], request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append(("waits", repr(WAITED)))
    print("\nwaits (s):", WAITED)
    assert "recorded" in WAITED
