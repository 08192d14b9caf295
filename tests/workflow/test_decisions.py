"""The terminal prompt, the fine-tuner's example store as feedback sink, and replay on the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from rpa_vision.cli import main
from rpa_vision.core.errors import ReplayAborted
from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import (
    DecisionKind,
    DecisionRequest,
    Located,
    PolicyDecisionProvider,
    TerminalDecisionProvider,
)
from rpa_vision.workflow.feedback import ExampleStoreSink
from rpa_vision.workflow.replayer import ReplayConfig, Replayer
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore
from tests.workflow.fakes import FAST, AppPerformer, FakeApp, FakeFrames, TemplateLocator, record


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _request(n: int = 3) -> DecisionRequest:
    cands = tuple(Located(Box(10 * i, 0, 10 * i + 8, 8), 0.7 - 0.1 * i) for i in range(n))
    return DecisionRequest("wf", 1, 4, Action(ActionKind.CLICK, point=Point(3, 3)), "click on 'OK'",
                           "confidence 0.70 below 0.80", None, None, cands)


def test_terminal_without_a_terminal_aborts_with_what_to_do() -> None:
    p = TerminalDecisionProvider(stdin=io.StringIO("y\n"), stdout=io.StringIO())
    with pytest.raises(ReplayAborted, match=r"no terminal.*--on-low-confidence"):
        p.decide(_request())
    with pytest.raises(ReplayAborted, match="RPA_VISION_SECRET_DB_PASS"):
        p.ask_secret("db.pass")


@pytest.mark.parametrize(("answer", "kind", "box_x"), [
    ("\n", DecisionKind.CONFIRM, None), ("y\n", DecisionKind.CONFIRM, None), ("2\n", DecisionKind.CHOOSE, 10),
    ("s\n", DecisionKind.SKIP, None), ("a\n", DecisionKind.ABORT, None), ("what\n3\n", DecisionKind.CHOOSE, 20),
    ("", DecisionKind.ABORT, None), ("9\na\n", DecisionKind.ABORT, None),
])
def test_terminal_answers(answer: str, kind: DecisionKind, box_x: int | None) -> None:
    out = io.StringIO()
    d = TerminalDecisionProvider(stdin=Tty(answer), stdout=out).decide(_request())
    assert d.kind is kind
    if box_x is not None:
        assert d.box is not None and d.box.x1 == box_x
    shown = out.getvalue()
    assert "step 2/4: click on 'OK'" in shown and "confidence 0.70 below 0.80" in shown and "[3]" in shown


def test_terminal_with_no_candidate_offers_skip_or_abort_only() -> None:
    out = io.StringIO()
    d = TerminalDecisionProvider(stdin=Tty("\ns\n"), stdout=out).decide(_request(0))
    assert d.kind is DecisionKind.SKIP and "not understood" in out.getvalue()


def test_policies_answer_without_asking() -> None:
    assert PolicyDecisionProvider("accept").decide(_request()).kind is DecisionKind.CONFIRM
    assert PolicyDecisionProvider("accept").decide(_request(0)).kind is DecisionKind.ABORT
    assert PolicyDecisionProvider("skip").decide(_request()).kind is DecisionKind.SKIP
    assert PolicyDecisionProvider("abort").decide(_request()).kind is DecisionKind.ABORT


def test_confirmations_corrections_and_heals_reach_the_fine_tuner(home: Path) -> None:
    from rpa_vision.finetune import ExampleStore
    from rpa_vision.workflow.decisions import Decision, ScriptedDecisionProvider

    paths = Paths.resolve(home)
    store = WorkflowStore(paths)
    wf, images = record(FakeApp(), ["one", "two"], "calc")
    store.save(wf, images)
    app = FakeApp(style="dim")
    decider = ScriptedDecisionProvider([Decision.confirm(), Decision.choose(app.button_box("two"))])
    r = Replayer(store.load("calc"), store, FakeFrames(app), TemplateLocator(), AppPerformer(app), decider,
                 ThumbnailStateEncoder(), feedback=ExampleStoreSink(paths),
                 config=ReplayConfig(**{**FAST, "min_confidence": 0.999, "floor_confidence": 0.1}))  # type: ignore[arg-type]
    assert r.run().status == "ok"
    ex = ExampleStore(paths.finetune).examples()
    assert [e.kind for e in ex] == ["confirmation", "correction"]
    assert ex[0].context["workflow"] == "calc" and ex[1].context["step"] == 1
    # a moved window replayed without asking: the healed match is an example too
    app2 = FakeApp(offset=(100, 70))
    wf2, images2 = record(FakeApp(), ["plus"], "moved")
    store.save(wf2, images2)
    r2 = Replayer(store.load("moved"), store, FakeFrames(app2), TemplateLocator(), AppPerformer(app2),
                  ScriptedDecisionProvider(), ThumbnailStateEncoder(), feedback=ExampleStoreSink(paths),
                  config=ReplayConfig(**FAST))  # type: ignore[arg-type]
    assert r2.run().status == "ok"
    assert [e.kind for e in ExampleStore(paths.finetune).examples()][-1] == "healed"


# --- replay on the command line with fakes: exit status and --report ---------------------------------


@pytest.fixture()
def fake_replay(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from rpa_vision.workflow import runtime

    store = WorkflowStore(Paths.resolve(home))
    wf, images = record(FakeApp(), ["one", ("type", "12"), "plus"], "calc")
    store.save(wf, images)
    state: dict[str, Any] = {"app": FakeApp()}
    real = runtime.build_replayer

    def build(name: str, paths: Paths, decider: Any, **kw: Any) -> Replayer:
        app = state["app"]
        kw.update(source=_Source(app), performer=AppPerformer(app), locator=object(),
                  config=ReplayConfig(**{**kw["config"].__dict__, **FAST}))
        r = real(name, paths, decider, **kw)
        r.locator = TemplateLocator()  # the fake app's stand-in instead of the real Locator
        state["performer"] = r.performer
        return r

    monkeypatch.setattr(runtime, "build_replayer", build)
    return state


class _Source:
    def __init__(self, app: FakeApp) -> None:
        self.frames = FakeFrames(app)

    def grab(self, monitor: int = 1) -> Any:
        return self.frames.grab()

    def monitors(self) -> list[Any]:
        return []


def test_cli_replay_ok_writes_the_report_and_exits_0(fake_replay: dict[str, Any], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    assert main(["replay", "calc", "--report", str(report)]) == 0
    doc = json.loads(report.read_text())
    assert doc["workflow"] == "calc" and doc["status"] == "ok"
    assert [s["action"] for s in doc["steps"]] == ["click", "type", "click"]
    keys = {"index", "action", "state_score", "confidence", "recorded_xyxy", "located_xyxy", "healed",
            "decision", "ms"}
    assert all(keys <= set(s) and s["decision"] == "auto" for s in doc["steps"])
    assert fake_replay["app"].pressed == ["one", "plus"] and fake_replay["app"].typed == ["12"]
    assert "calc: ok, 3/3 steps ok" in capsys.readouterr().err


def test_cli_replay_dry_run_acts_not(fake_replay: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "calc", "--dry-run", "-q"]) == 0
    assert fake_replay["app"].pressed == [] and fake_replay["app"].typed == []


@pytest.mark.parametrize(("policy", "code", "status"), [("abort", 3, "aborted"), ("skip", 1, "failed")])
def test_cli_replay_not_ok_exits_non_zero(fake_replay: dict[str, Any], tmp_path: Path, policy: str, code: int,
                                          status: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake_replay["app"] = FakeApp(style="dim")
    report = tmp_path / "r.json"
    got = main(["replay", "calc", "--on-low-confidence", policy, "--min-confidence", "0.999", "--report",
                str(report), "-q"])
    assert got == code
    assert json.loads(report.read_text())["status"] == status
    assert "Traceback" not in capsys.readouterr().err


def test_cli_replay_ask_without_a_terminal_aborts_clearly(fake_replay: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    fake_replay["app"] = FakeApp(style="dim")
    assert main(["replay", "calc", "--min-confidence", "0.999", "-q"]) == 3
    err = capsys.readouterr().err
    assert "no terminal" in err and "Traceback" not in err and fake_replay["app"].pressed == []

