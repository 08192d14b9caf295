"""The replayer with the real Locator (no OCR) on the simulated application."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import Decision, ScriptedDecisionProvider
from rpa_vision.workflow.replayer import ReplayConfig, Replayer
from rpa_vision.workflow.report import Outcome, classify
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore
from tests.workflow.fakes import AppPerformer, FakeApp, FakeFrames, record

locate = pytest.importorskip("rpa_vision.locate")

PLAN = ["one", "plus", "two", ("type", "x"), "equals"]
CLICKS = ["one", "plus", "two", "equals"]


@pytest.fixture(scope="module")
def adapter():  # type: ignore[no-untyped-def]
    from rpa_vision.workflow.runtime import LocatorAdapter

    return LocatorAdapter(locate.Locator(config=locate.LocatorConfig(use_ocr=False)))


def _person(app: FakeApp):  # type: ignore[no-untyped-def]
    """Answers like a person who sees the screen: confirms the right element, else points at it."""
    truth = {i: n for i, n in enumerate(PLAN) if isinstance(n, str)}

    def decide(req):  # type: ignore[no-untyped-def]
        if not app.open:
            return Decision.abort("the person sees no application")
        box = app.button_box(truth[req.step_index])
        if req.candidates and box.contains(req.candidates[0].box.center):
            return Decision.confirm()
        return Decision.choose(box)

    return ScriptedDecisionProvider(decide)


def _run(store: WorkflowStore, app: FakeApp, adapter, perf: AppPerformer | None = None):  # type: ignore[no-untyped-def]
    r = Replayer(store.load("calc"), store, FakeFrames(app), adapter, perf or AppPerformer(app),
                 _person(app), ThumbnailStateEncoder(),
                 config=ReplayConfig(state_timeout_s=1.5, settle_s=0.1, decide_after_s=0.5, poll_s=0.05,
                                     verify_timeout_s=0.3))
    return r.run()


@pytest.mark.parametrize("kw", [{}, {"offset": (110, 70)}, {"style": "dim"}, {"scale": 1.5}],
                         ids=["same", "moved", "restyled", "rescaled"])
def test_real_locator_replays_perturbed_screens(home: Path, adapter, kw: dict) -> None:  # type: ignore[no-untyped-def]
    store = WorkflowStore(Paths.resolve(home))
    wf, images = record(FakeApp(), PLAN, "calc")
    store.save(wf, images)
    app = FakeApp(**kw)
    rep = _run(store, app, adapter)
    assert rep.status == "ok", rep.message  # type: ignore[attr-defined]
    assert app.pressed == CLICKS and app.typed == ["x"]
    clicks = [s for s in rep.steps if s.action == "click"]  # type: ignore[attr-defined]
    outcomes = [classify(s, app.button_box(n)) for s, n in zip(clicks, CLICKS, strict=True)]
    assert Outcome.SILENT_WRONG not in outcomes
    # asking is allowed (the scripted person answers), but a second replay after healing asks no more
    app2 = FakeApp(**kw)
    rep2 = _run(store, app2, adapter)
    assert rep2.status == "ok" and app2.pressed == CLICKS  # type: ignore[attr-defined]
    asked1 = sum(s.asked for s in rep.steps)  # type: ignore[attr-defined]
    asked2 = sum(s.asked for s in rep2.steps)  # type: ignore[attr-defined]
    assert asked2 <= asked1
    if asked1 == 0 and "offset" in kw:
        assert all(s.healed for s in clicks) and not any(s.healed for s in rep2.steps)  # type: ignore[attr-defined]


def test_real_locator_app_closed_sends_nothing(home: Path, adapter) -> None:  # type: ignore[no-untyped-def]
    store = WorkflowStore(Paths.resolve(home))
    wf, images = record(FakeApp(), PLAN, "calc")
    store.save(wf, images)
    app = FakeApp(open=False)
    perf = AppPerformer(app)
    rep = _run(store, app, adapter, perf)  # the person is asked and points at nothing: aborts
    assert rep.status in ("failed", "aborted") and perf.actions == []
    assert classify(rep.steps[0], None) is Outcome.SAFE_STOP  # type: ignore[attr-defined]
