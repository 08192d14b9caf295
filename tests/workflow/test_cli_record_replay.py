"""record/replay on the command line: bad input and a missing display give one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rpa_vision.cli import main

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
