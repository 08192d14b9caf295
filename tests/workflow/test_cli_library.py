from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpa_vision.cli import main
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.store import WorkflowStore
from tests.workflow.helpers import sample_workflow


@pytest.fixture()
def saved(home: Path) -> WorkflowStore:
    store = WorkflowStore(Paths.resolve(home))
    wf, images = sample_workflow("calc")
    store.save(wf, images)
    return store


def test_list_and_show(saved: WorkflowStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    assert "calc" in capsys.readouterr().out
    assert main(["list", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert item["name"] == "calc" and item["steps"] == 4
    assert main(["show", "calc"]) == 0
    out = capsys.readouterr().out
    assert "type '12+3'" in out and "click" in out
    assert main(["show", "calc", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 2 and doc["missing_files"] == []


def test_delete_restore_rename_export_import(saved: WorkflowStore, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delete", "calc"]) == 0
    assert saved.names() == []
    assert main(["restore", "calc"]) == 0
    assert main(["rename", "calc", "sum"]) == 0
    assert saved.names() == ["sum"]
    assert main(["export", "sum", str(tmp_path / "x.zip")]) == 0
    assert main(["import", str(tmp_path / "x.zip"), "--name", "sum2"]) == 0
    assert saved.names() == ["sum", "sum2"]


@pytest.mark.parametrize("argv", [["show", "nope"], ["delete", "a/b"], ["rename", "calc", "../x"],
                                  ["import", "/nonexistent.zip"], ["restore", "calc"]])
def test_errors_are_one_line(saved: WorkflowStore, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err and "error:" in err


def test_broken_workflow_is_listed_not_crashing(saved: WorkflowStore, capsys: pytest.CaptureFixture[str]) -> None:
    (saved.folder("calc") / "workflow.json").write_text("{")
    assert main(["list"]) == 0
    assert "BROKEN" in capsys.readouterr().out
    assert main(["show", "calc"]) != 0
