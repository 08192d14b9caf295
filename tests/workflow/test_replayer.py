from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rpa_vision.core.errors import FailSafeTriggered
from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Monitor, Point
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import Decision, Located, ScriptedDecisionProvider
from rpa_vision.workflow.feedback import MemoryFeedbackSink
from rpa_vision.workflow.replayer import ReplayConfig, Replayer, ReplayEvent
from rpa_vision.workflow.report import Outcome, classify
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore
from tests.workflow.fakes import FAST, SH, AppPerformer, FakeApp, FakeFrames, TemplateLocator, record

PLAN = ["one", "plus", "two", ("type", "done"), "equals"]


@pytest.fixture()
def store(home: Path) -> WorkflowStore:
    return WorkflowStore(Paths.resolve(home))


def _replayer(store: WorkflowStore, app: FakeApp, decider: ScriptedDecisionProvider | None = None,
              feedback: MemoryFeedbackSink | None = None, events: list[ReplayEvent] | None = None,
              **cfg: object) -> tuple[Replayer, AppPerformer, TemplateLocator]:
    perf, loc = AppPerformer(app), TemplateLocator()
    r = Replayer(store.load("calc"), store, FakeFrames(app), loc, perf,
                 decider or ScriptedDecisionProvider(), ThumbnailStateEncoder(), feedback=feedback,
                 config=ReplayConfig(**{**FAST, **cfg}),  # type: ignore[arg-type]
                 observer=events.append if events is not None else None)
    return r, perf, loc


def _save(store: WorkflowStore, app: FakeApp, plan: list = PLAN) -> None:  # type: ignore[type-arg]
    wf, images = record(app, plan, "calc")
    store.save(wf, images)


def test_replay_on_the_same_screen(store: WorkflowStore) -> None:
    app = FakeApp()
    _save(store, app)
    events: list[ReplayEvent] = []
    r, _perf, _ = _replayer(store, app, events=events)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "plus", "two", "equals"] and app.typed == ["done"]
    assert all(s.decision == "auto" and s.ok and not s.healed for s in rep.steps)
    assert all(s.verified for s in rep.steps if s.action == "click")
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("step_started") == 5 and kinds.count("acted") == 5 and "located" in kinds


def test_moved_window_heals_and_second_replay_is_confident(store: WorkflowStore) -> None:
    _save(store, FakeApp(offset=(40, 40)))
    app = FakeApp(offset=(110, 70))
    r, _perf, _ = _replayer(store, app)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "plus", "two", "equals"]
    clicks = [s for s in rep.steps if s.action == "click"]
    assert all(s.healed for s in clicks)
    for s, name in zip(clicks, ["one", "plus", "two", "equals"], strict=True):
        assert classify(s, app.button_box(name)) is Outcome.CORRECT
    wf = store.load("calc")
    assert all(len(st.target.prototypes) == 1 for st in wf.steps if st.target is not None)
    assert all(len(st.extra_states) == 1 for st in wf.steps if st.target is not None)
    # second replay on the moved window: the healed position is known, nothing new to heal
    app2 = FakeApp(offset=(110, 70))
    r2, _, loc2 = _replayer(store, app2)
    rep2 = r2.run()
    assert rep2.status == "ok" and app2.pressed == ["one", "plus", "two", "equals"]
    assert not any(s.healed for s in rep2.steps)
    assert all(q.last_box is not None for q in loc2.queries)


def test_app_closed_stops_without_clicking(store: WorkflowStore) -> None:
    _save(store, FakeApp())
    app = FakeApp(open=False)
    r, perf, _ = _replayer(store, app, on_low_confidence="abort")
    rep = r.run()
    assert rep.status == "failed"
    assert "never reached" in rep.message
    assert perf.actions == []
    assert classify(rep.steps[0], None) is Outcome.SAFE_STOP
    # in ask mode a person is asked (and can abort); still nothing is sent
    decider = ScriptedDecisionProvider([Decision.abort("the application is closed")])
    r, perf, _ = _replayer(store, app, decider)
    rep = r.run()
    assert rep.status == "aborted" and perf.actions == []
    assert "not found" in decider.requests[0].reason and "does not look as recorded" in decider.requests[0].reason
    assert decider.requests[0].candidates == ()


def test_restyled_target_asks_and_stores_feedback(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one", "two"])
    app = FakeApp(style="dim")
    fb = MemoryFeedbackSink()
    decider = ScriptedDecisionProvider([Decision.confirm(), Decision.choose(app.button_box("two"))])
    r, _perf, _ = _replayer(store, app, decider, fb, min_confidence=0.999, floor_confidence=0.1)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert [s.decision for s in rep.steps] == ["confirmed", "corrected"]
    assert all(s.asked for s in rep.steps)
    assert len(decider.requests) == 2 and decider.requests[0].candidates
    assert decider.requests[0].target_crop is not None and decider.requests[0].screenshot is not None
    assert [k for k, *_ in fb.items] == ["confirmation", "correction"]
    assert app.pressed == ["one", "two"]
    assert all(s.healed for s in rep.steps)  # confirmed looks become prototypes


def test_policies_abort_skip_accept(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one", "two"])
    cfg = dict(min_confidence=0.999, floor_confidence=0.1)
    app = FakeApp(style="dim")
    r, perf, _ = _replayer(store, app, on_low_confidence="abort", **cfg)
    rep = r.run()
    assert rep.status == "aborted" and perf.actions == [] and rep.steps[0].decision == "aborted"
    app = FakeApp(style="dim")
    r, perf, _ = _replayer(store, app, on_low_confidence="skip", **cfg)
    rep = r.run()
    assert rep.status == "failed" and perf.actions == [] and [s.decision for s in rep.steps] == ["skipped"] * 2
    app = FakeApp(style="dim")
    r, perf, _ = _replayer(store, app, on_low_confidence="accept", **cfg)
    rep = r.run()
    assert rep.status == "ok" and app.pressed == ["one", "two"]


def test_ambiguous_screen_asks(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one"])
    app = FakeApp(twins=True)
    decider = ScriptedDecisionProvider([Decision.abort("not sure")])
    r, perf, _ = _replayer(store, app, decider)
    rep = r.run()
    assert rep.status == "aborted" and perf.actions == []
    assert "alike" in decider.requests[0].reason


def test_dry_run_acts_not(store: WorkflowStore) -> None:
    _save(store, FakeApp())
    app = FakeApp(offset=(100, 50))
    r, perf, _ = _replayer(store, app, dry_run=True)
    rep = r.run()
    assert rep.status == "ok" and perf.actions == [] and rep.dry_run
    assert all(s.located_xyxy is not None for s in rep.steps if s.action == "click")
    assert not any(s.healed for s in rep.steps)
    assert all(not st.target.prototypes for st in store.load("calc").steps if st.target)


def test_other_resolution_rescales(store: WorkflowStore) -> None:
    _save(store, FakeApp())
    app = FakeApp(scale=1.5)
    r, _perf, _ = _replayer(store, app)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert app.pressed == ["one", "plus", "two", "equals"]


def test_fail_safe_aborts_at_once(store: WorkflowStore) -> None:
    _save(store, FakeApp())
    app = FakeApp()
    r, _perf, _ = _replayer(store, app)

    def boom(action: Action) -> None:
        raise FailSafeTriggered("pointer in a corner")

    r.performer = type("P", (), {"perform": staticmethod(boom)})()
    rep = r.run()
    assert rep.status == "aborted" and len(rep.steps) == 1 and rep.steps[0].decision == "aborted"


def test_cancel_from_another_thread(store: WorkflowStore) -> None:
    _save(store, FakeApp())
    app = FakeApp(open=False)
    r, perf, _ = _replayer(store, app, state_timeout_s=30.0)
    threading.Timer(0.3, r.cancel).start()
    t0 = time.monotonic()
    rep = r.run()
    assert time.monotonic() - t0 < 5
    assert rep.status == "aborted" and "cancelled" in rep.message and perf.actions == []


def test_secret_from_env_or_provider(store: WorkflowStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _save(store, FakeApp(), ["one", ("type", "pw={{secret:login_pw}}")])
    monkeypatch.setenv("RPA_VISION_SECRET_LOGIN_PW", "hunter2")
    app = FakeApp()
    r, _, _ = _replayer(store, app)
    rep = r.run()
    assert rep.status == "ok" and app.typed == ["pw=hunter2"]
    rep.write(tmp_path / "r.json")
    assert "hunter2" not in (tmp_path / "r.json").read_text()
    monkeypatch.delenv("RPA_VISION_SECRET_LOGIN_PW")
    app = FakeApp()
    decider = ScriptedDecisionProvider(secrets={"login_pw": "s3cret"})
    r, _, _ = _replayer(store, app, decider)
    assert r.run().status == "ok" and app.typed == ["pw=s3cret"]
    assert decider.secret_requests == ["login_pw"]
    app = FakeApp()
    r, _perf, _ = _replayer(store, app, ScriptedDecisionProvider())
    rep = r.run()
    assert rep.status == "aborted" and app.typed == []


def test_click_that_changes_nothing_is_retried_once_and_flagged(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one"])
    app = FakeApp(ignore_clicks=True)
    r, perf, _ = _replayer(store, app)
    rep = r.run()
    assert len(perf.actions) == 1  # by default only flagged: a slow application must not get two clicks
    assert rep.steps[0].verified is False and "did not change" in rep.steps[0].message
    r, perf, _ = _replayer(store, FakeApp(ignore_clicks=True), retry=True)
    rep = r.run()
    assert len(perf.actions) == 2
    assert rep.steps[0].verified is False and "did not change" in rep.steps[0].message


def test_report_json_shape(store: WorkflowStore, tmp_path: Path) -> None:
    import json

    _save(store, FakeApp(), ["one"])
    r, _, _ = _replayer(store, FakeApp())
    rep = r.run()
    rep.write(tmp_path / "rep.json")
    doc = json.loads((tmp_path / "rep.json").read_text())
    assert doc["workflow"] == "calc" and doc["status"] == "ok"
    s = doc["steps"][0]
    for k in ("index", "action", "state_score", "confidence", "recorded_xyxy", "located_xyxy", "healed",
              "decision", "ms"):
        assert k in s
    assert Box.from_seq(s["located_xyxy"]).iou(Box.from_seq(s["recorded_xyxy"])) > 0.9


def test_keyboard_first_step_waits_for_the_recorded_state(store: WorkflowStore) -> None:
    _save(store, FakeApp(), [("type", "abc"), "one"])
    app = FakeApp(open=False)
    r, perf, _ = _replayer(store, app)
    rep = r.run()
    assert rep.status == "failed" and perf.actions == [] and "never reached" in rep.message


def test_app_closing_midway_stops_before_the_next_click(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one", "two", "plus"])
    app = FakeApp(offset=(100, 60))
    r, perf, _ = _replayer(store, app, on_low_confidence="abort")

    def close_after_two(ev: ReplayEvent) -> None:
        if ev.kind == "step_finished" and ev.step_index == 1:
            app.open = False

    r.observer = close_after_two
    rep = r.run()
    assert rep.status == "failed" and len(perf.actions) == 2 and app.pressed == ["one", "two"]
    assert [s.ok for s in rep.steps] == [True, True, False]


def test_confident_candidate_off_the_layout_is_not_clicked(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one", "two", "plus"])
    app = FakeApp(offset=(100, 60))
    decider = ScriptedDecisionProvider([Decision.abort("the person sees it is wrong")])
    r, perf, loc = _replayer(store, app, decider)
    decoy = app.button_box("equals")

    class Decoy:
        def locate(self, query, frame, top_k):  # type: ignore[no-untyped-def]
            found = list(loc.locate(query, frame, top_k))
            if query.text == "plus":  # a confident but wrong answer from the locator
                return [Located(decoy, 0.99, 0.99), *(Located(c.box, 0.5 * c.confidence) for c in found)]
            return found

    r.locator = Decoy()
    rep = r.run()
    assert app.pressed == ["one", "two"] and len(perf.actions) == 2
    assert rep.status == "aborted" and "away from where" in decider.requests[0].reason


# --- never act where no monitor is ---------------------------------------------------------------

OFF = Box(20, 320, 80, 360)  # below the 400x300 fake screen


def test_chosen_box_off_every_monitor_is_refused_and_asked_again(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one"])
    app = FakeApp(style="dim")
    decider = ScriptedDecisionProvider([Decision.choose(OFF), Decision.choose(app.button_box("one"))])
    r, perf, _ = _replayer(store, app, decider, min_confidence=0.999, floor_confidence=0.1)
    rep = r.run()
    assert rep.status == "ok", rep.message
    assert len(decider.requests) == 2
    assert "outside every monitor" in decider.requests[1].reason
    assert all(a.point is not None and a.point.y < 300 for a in perf.actions)
    assert app.pressed == ["one"] and rep.steps[0].decision == "corrected"


def test_chosen_box_off_every_monitor_each_time_fails_the_step_without_acting(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one", "two"])
    app = FakeApp(style="dim")
    decider = ScriptedDecisionProvider(default=Decision.choose(OFF))
    r, perf, _ = _replayer(store, app, decider, min_confidence=0.999, floor_confidence=0.1, max_asks=2)
    rep = r.run()
    assert rep.status == "failed" and perf.actions == [] and app.pressed == []
    assert len(decider.requests) == 2 and len(rep.steps) == 1
    assert "outside every monitor" in rep.message and "no box on a monitor" in rep.message


def test_confident_candidate_off_the_monitors_counts_as_not_found(store: WorkflowStore) -> None:
    """A locator answer whose click point is on the frame but on no monitor (e.g. a frame larger
    than the real screen) is never acted on, even at confidence 0.99 with policy ``accept``."""
    _save(store, FakeApp(), ["plus"])
    app = FakeApp()
    perf, loc = AppPerformer(app), TemplateLocator()
    narrow = Monitor(0, 0, 200, SH)  # the plus button (x 200..260) is beyond its right edge
    r = Replayer(store.load("calc"), store, FakeFrames(app), loc, perf, ScriptedDecisionProvider(),
                 ThumbnailStateEncoder(), config=ReplayConfig(**{**FAST, "on_low_confidence": "accept"}),  # type: ignore[arg-type]
                 monitors=[Monitor(0, 0, 400, 300, index=0), narrow])
    rep = r.run()
    assert loc.queries and rep.status != "ok" and perf.actions == [] and app.pressed == []
    assert r.monitors == (narrow,)  # the union (index 0) is not a monitor one can click on


def test_drag_ending_off_every_monitor_is_refused(store: WorkflowStore) -> None:
    _save(store, FakeApp(), ["one"])
    app = FakeApp()
    r, _perf, _ = _replayer(store, app)
    frame = FakeFrames(app).grab()
    inside = Action(ActionKind.DRAG, point=Point(50, 50), end_point=Point(120, 80))
    outside = Action(ActionKind.DRAG, point=Point(50, 50), end_point=Point(50, 400))
    assert r._off_monitor(inside, frame) is None
    msg = r._off_monitor(outside, frame)
    assert msg is not None and "end point 50,400" in msg and "400x300+0+0" in msg


def test_a_screen_still_being_redrawn_is_not_searched(store: WorkflowStore) -> None:
    """The state matches at once, but the application has not finished drawing the target yet
    (it is blank on the first grabs): the replayer waits until the screen stays unchanged."""
    _save(store, FakeApp(), ["one"])
    app = FakeApp()
    decider = ScriptedDecisionProvider(default=Decision.abort("not found"))
    r, _perf, _ = _replayer(store, app, decider, stable_s=0.06)
    frames = r.frames
    assert isinstance(frames, FakeFrames)

    class Redrawing:
        def grab(self):  # type: ignore[no-untyped-def]
            f = frames.grab()
            if frames.grabs <= 3:  # the first grabs: the button is being drawn, a little more each time
                img = f.bgr().copy()
                b = app.button_box("one")
                img[int(b.y1):int(b.y2), int(b.x1):int(b.x2)] = 200 + 15 * frames.grabs
                return Frame.from_array(img)
            return f

    r.frames = Redrawing()
    rep = r.run()
    assert rep.status == "ok" and app.pressed == ["one"], [q.reason for q in decider.requests]
    assert decider.requests == []
    assert rep.steps[0].state_score is not None and rep.steps[0].state_score >= 0.92
