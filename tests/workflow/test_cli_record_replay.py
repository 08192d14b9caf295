"""record/replay on the command line: bad input and a missing display give one clear line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rpa_vision.cli import main
from rpa_vision.core.events import Button, EventKind, InputEvent
from tests.workflow.fakes import FakeApp

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def nodisplay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


@pytest.fixture()
def example_home(home: Path) -> Path:
    shutil.copytree(REPO / "workflows" / "xcalc-multiply", home / "workflows" / "xcalc-multiply")
    return home


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv", [["record", "a/b"], ["record", ".."], ["record", "x", "--max-duration", "0"],
                                  ["replay", "nope"], ["replay", "a/b"]])
def test_bad_input(home: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) != 0
    assert "error:" in _one_line_error(capsys)


def test_record_refuses_an_existing_name(example_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "xcalc-multiply"]) != 0
    assert "already exists" in _one_line_error(capsys)


def test_record_without_a_display(home: Path, nodisplay: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "new", "--max-duration", "1"]) != 0
    line = _one_line_error(capsys)
    assert "display" in line.lower()
    assert not (home / "workflows" / "new").exists()


def test_replay_without_a_display(example_home: Path, nodisplay: None, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    code = main(["replay", "xcalc-multiply", "--dry-run", "--report", str(report), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    doc = json.loads(report.read_text())
    assert doc["workflow"] == "xcalc-multiply" and doc["status"] == "failed"
    assert "display" in doc["message"].lower()


def test_replay_bad_confidence(example_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "xcalc-multiply", "--min-confidence", "2"]) != 0
    assert "min-confidence" in _one_line_error(capsys)


def test_shipped_example_is_valid() -> None:
    from rpa_vision.core.paths import Paths
    from rpa_vision.workflow.store import WorkflowStore

    wf = WorkflowStore(Paths(REPO)).load("xcalc-multiply")
    assert [s.action.kind.value for s in wf.steps] == ["click", "click", "click", "type", "click"]
    assert all(s.target is not None and s.before is not None and s.before.screenshot for s in wf.steps
               if s.action.is_pointer)


# --- record always saves: stop hotkey, SIGINT, SIGTERM, --max-duration ------------------------------


class _Fakes:
    def __init__(self) -> None:
        self.input: Any = None


@pytest.fixture()
def fake_devices(monkeypatch: pytest.MonkeyPatch) -> _Fakes:
    """``record`` on a fake screen (the FakeApp) and a fake input listener the test drives."""
    from rpa_vision.capture import create_screen_source
    from rpa_vision.input.fake import FakeInputRecorder
    from rpa_vision.workflow import runtime

    fakes = _Fakes()
    real = runtime.build_recorder

    def build(name: str, **kw: Any) -> Any:
        fakes.input = FakeInputRecorder()
        kw.update(source=create_screen_source("fake", images=[FakeApp().render()]), input_source=fakes.input,
                  use_ocr=False)
        return real(name, **kw)

    monkeypatch.setattr(runtime, "build_recorder", build)
    return fakes


def _click_then(fakes: _Fakes, then: Any) -> threading.Thread:
    def go() -> None:
        deadline = time.monotonic() + 20
        while (fakes.input is None or not fakes.input.is_running) and time.monotonic() < deadline:
            time.sleep(0.02)
        p = FakeApp().button_box("one").center
        time.sleep(0.3)
        fakes.input.emit(InputEvent(EventKind.PRESS, point=p, button=Button.LEFT))
        fakes.input.emit(InputEvent(EventKind.RELEASE, point=p, button=Button.LEFT))
        time.sleep(0.3)
        then()

    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_record_saves_on_a_signal(home: Path, fake_devices: _Fakes, sig: signal.Signals,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    previous = signal.getsignal(sig)
    th = _click_then(fake_devices, lambda: os.kill(os.getpid(), sig))
    code = main(["record", "sig", "--max-duration", "30"])
    th.join(5)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"({sig.name})" in err and "Traceback" not in err
    doc = json.loads((home / "workflows" / "sig" / "workflow.json").read_text())
    assert [s["action"]["kind"] for s in doc["steps"]] == ["click"]
    assert out.strip().endswith("sig")
    assert signal.getsignal(sig) is previous  # the previous handler is back


def test_record_saves_at_the_time_limit(home: Path, fake_devices: _Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    th = _click_then(fake_devices, lambda: None)
    code = main(["record", "timed", "--max-duration", "1.5"])
    th.join(5)
    err = capsys.readouterr().err
    assert code == 0 and "(time limit)" in err, err
    assert (home / "workflows" / "timed" / "workflow.json").is_file()


def test_record_stop_hotkey_saves_without_the_hotkey(home: Path, fake_devices: _Fakes,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def stop() -> None:
        for k in ("ctrl", "alt", "esc"):
            fake_devices.input.emit(InputEvent(EventKind.KEY_DOWN, key=k))
        for k in ("esc", "alt", "ctrl"):
            fake_devices.input.emit(InputEvent(EventKind.KEY_UP, key=k))

    th = _click_then(fake_devices, stop)
    code = main(["record", "hk", "--max-duration", "30"])
    th.join(5)
    err = capsys.readouterr().err
    assert code == 0 and "(stop hotkey)" in err, err
    doc = json.loads((home / "workflows" / "hk" / "workflow.json").read_text())
    assert [s["action"]["kind"] for s in doc["steps"]] == ["click"]


def test_record_empty_recording_saves_nothing(home: Path, fake_devices: _Fakes,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["record", "empty", "--max-duration", "0.5"])
    err = capsys.readouterr().err
    assert code == 1 and "nothing was recorded" in err and "Traceback" not in err
    assert not (home / "workflows" / "empty").exists()


def test_replay_acting_without_a_display_is_one_line(example_home: Path, nodisplay: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "xcalc-multiply", "-q"]) != 0
    assert "display" in _one_line_error(capsys).lower()
