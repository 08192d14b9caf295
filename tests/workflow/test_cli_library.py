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


@pytest.mark.parametrize(("damage", "expect"), [
    ("truncate", "workflow.json"), ("future", "schema"), ("missing-crop", "step-001-target.png"),
    ("not-json-object", "workflow.json"),
])
def test_replay_and_show_of_a_damaged_workflow_is_one_clear_line(saved: WorkflowStore, damage: str, expect: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = saved.folder("calc")
    doc_path = folder / "workflow.json"
    good = doc_path.read_text()
    if damage == "truncate":
        doc_path.write_text(good[: len(good) // 3])
    elif damage == "future":
        doc_path.write_text(good.replace('"schema_version": 2', '"schema_version": 7'))
    elif damage == "missing-crop":
        (folder / "step-001-target.png").unlink()
    else:
        doc_path.write_text("[1, 2, 3]")
    before = sorted(p.name for p in folder.iterdir())
    assert main(["replay", "calc", "--dry-run"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and expect in err.lower(), err
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing was changed or removed
    assert main(["export", "calc", str(folder.parent / "x.zip")]) != 0
    assert "Traceback" not in capsys.readouterr().err
