from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rpa_vision.core.errors import (
    CorruptFileError,
    SchemaVersionError,
    StorageError,
    WorkflowError,
    WorkflowNotFoundError,
)
from rpa_vision.core.geometry import Box
from rpa_vision.core.paths import Paths
from rpa_vision.workflow import store as store_mod
from rpa_vision.workflow.model import InvalidWorkflowName, Prototype
from rpa_vision.workflow.store import ImportRefusedError, WorkflowExistsError, WorkflowStore
from tests.workflow.helpers import sample_workflow


@pytest.fixture()
def store(home: Path) -> WorkflowStore:
    return WorkflowStore(Paths.resolve(home))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_creation_time_just_before_a_second_round_trips(store: WorkflowStore) -> None:
    from dataclasses import replace

    wf, images = sample_workflow("calc")
    wf = replace(wf, created=1_733_458_125.9996)  # stored as ...126.000: the ISO second must agree
    store.save(wf, images)
    back = store.load("calc")
    assert back.to_json() == wf.to_json()
    assert wf.to_json()["created_iso"].endswith(":46Z")


def test_save_load_list(store: WorkflowStore) -> None:
    wf, images = sample_workflow("calc")
    folder = store.save(wf, images)
    assert (folder / "workflow.json").is_file()
    assert store.names() == ["calc"]
    back = store.load("calc")
    assert back.to_json() == wf.to_json()
    crop = store.image(back, back.steps[0].target.crop)  # type: ignore[union-attr]
    assert np.array_equal(crop, images[back.steps[0].target.crop])  # type: ignore[union-attr]
    [summary] = store.summaries()
    assert summary.steps == 4 and summary.error == ""
    with pytest.raises(WorkflowExistsError):
        store.save(wf, images)


def test_missing_workflow_and_bad_names(store: WorkflowStore) -> None:
    with pytest.raises(WorkflowNotFoundError):
        store.load("nope")
    with pytest.raises(InvalidWorkflowName):
        store.load("../etc")


def test_failed_overwrite_leaves_old_copy_intact(store: WorkflowStore, monkeypatch: pytest.MonkeyPatch) -> None:
    wf, images = sample_workflow("calc")
    folder = store.save(wf, images)
    before = _snapshot(folder)
    calls = {"n": 0}
    real = store_mod.encode_png

    def failing(img: np.ndarray) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:
            raise StorageError("disk full (simulated)")
        return real(img)

    monkeypatch.setattr(store_mod, "encode_png", failing)
    wf2, images2 = sample_workflow("calc", n=1)
    with pytest.raises(StorageError):
        store.save(wf2, images2, overwrite=True)
    assert _snapshot(folder) == before
    assert [p.name for p in store.root.iterdir()] == ["calc"]  # no temporary folders left


def test_failed_update_leaves_json_intact(store: WorkflowStore, monkeypatch: pytest.MonkeyPatch) -> None:
    wf, images = sample_workflow("calc")
    folder = store.save(wf, images)
    old_json = (folder / "workflow.json").read_bytes()
    t = wf.steps[0].target
    assert t is not None
    fname = store.unique_file("calc", "step-000-proto")
    healed = wf.with_step(type(wf.steps[0])(0, wf.steps[0].action, type(t)(
        t.crop, t.xyxy, t.text, t.anchors, t.rel_screen, None, None,
        (Prototype(fname, Box(1, 1, 20, 20), (320, 200)),))))

    def boom(*a: object, **k: object) -> None:
        raise StorageError("simulated crash before the rename")

    monkeypatch.setattr(store_mod, "atomic_write_json", boom)
    with pytest.raises(StorageError):
        store.update(healed, {fname: np.zeros((19, 19, 3), np.uint8)})
    assert (folder / "workflow.json").read_bytes() == old_json
    monkeypatch.undo()
    # the orphan image from the failed attempt does not stop a later update
    fname2 = store.unique_file("calc", "step-000-proto")
    assert fname2 != fname
    healed2 = wf.with_step(type(wf.steps[0])(0, wf.steps[0].action, type(t)(
        t.crop, t.xyxy, prototypes=(Prototype(fname2, Box(1, 1, 20, 20), (320, 200)),))))
    store.update(healed2, {fname2: np.zeros((19, 19, 3), np.uint8)})
    assert store.load("calc").steps[0].target.prototypes[0].crop == fname2  # type: ignore[union-attr]


def test_corrupt_truncated_and_future_json(store: WorkflowStore) -> None:
    wf, images = sample_workflow("calc")
    folder = store.save(wf, images)
    good = (folder / "workflow.json").read_text()
    (folder / "workflow.json").write_text(good[: len(good) // 2])
    with pytest.raises(CorruptFileError):
        store.load("calc")
    assert store.summaries()[0].error  # listed, with its problem, not a crash
    doc = json.loads(good)
    doc["schema_version"] = 99
    (folder / "workflow.json").write_text(json.dumps(doc))
    with pytest.raises(SchemaVersionError):
        store.load("calc")
    doc["schema_version"] = 2
    doc["steps"][0]["action"] = {"kind": "teleport"}
    (folder / "workflow.json").write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError):
        store.load("calc")


def test_missing_crop_is_a_clear_error(store: WorkflowStore) -> None:
    wf, images = sample_workflow("calc")
    folder = store.save(wf, images)
    (folder / "step-001-target.png").unlink()
    with pytest.raises(WorkflowError, match=r"step-001-target\.png"):
        store.load("calc")
    assert store.load("calc", check_files=False).name == "calc"


def test_delete_restore_rename(store: WorkflowStore) -> None:
    wf, images = sample_workflow("calc")
    store.save(wf, images)
    store.delete("calc")
    assert store.names() == []
    assert store.restore("calc").name == "calc"
    assert store.load("calc").name == "calc"
    store.rename("calc", "calc2")
    assert store.names() == ["calc2"]
    assert store.load("calc2").name == "calc2"
    store.save(sample_workflow("other")[0], images)
    with pytest.raises(WorkflowExistsError):
        store.rename("calc2", "other")
    with pytest.raises(InvalidWorkflowName):
        store.rename("calc2", "a/b")
    with pytest.raises(WorkflowNotFoundError):
        store.restore("never")


def test_export_import_round_trip(store: WorkflowStore, tmp_path: Path) -> None:
    wf, images = sample_workflow("calc")
    store.save(wf, images)
    z = store.export("calc", tmp_path)
    assert z.name == "calc.zip"
    with pytest.raises(WorkflowExistsError):
        store.import_(z)
    folder = store.import_(z, name="calc copy")
    assert store.load("calc copy").to_json() == wf.renamed("calc copy").to_json()
    assert folder.name == "calc copy"


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    return path


@pytest.mark.parametrize("entry", ["../evil.png", "/abs/workflow.json", "calc/../../evil.png", "calc/sub/x.png",
                                   "C:/x/workflow.json", "calc/run.sh"])
def test_import_refuses_paths_outside(store: WorkflowStore, tmp_path: Path, entry: str) -> None:
    z = _zip(tmp_path / "bad.zip", {"calc/workflow.json": b"{}", entry: b"x"})
    with pytest.raises(ImportRefusedError):
        store.import_(z)
    assert not (tmp_path / "evil.png").exists()
    assert store.names() == []


def test_import_refuses_foreign_and_corrupt(store: WorkflowStore, tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ImportRefusedError):
        store.import_(tmp_path / "junk.zip")
    with pytest.raises(ImportRefusedError):
        store.import_(_zip(tmp_path / "f.zip", {"docs/readme.txt": b"hello"}))
    with pytest.raises(ImportRefusedError):
        store.import_(_zip(tmp_path / "g.zip", {"calc/workflow.json": b"{not json"}))
    wf, images = sample_workflow("calc")
    store.save(wf, images)
    z = store.export("calc", tmp_path)
    store.delete("calc")
    # a crop that is not an image
    with zipfile.ZipFile(z) as src, zipfile.ZipFile(tmp_path / "h.zip", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, b"garbage" if info.filename.endswith("step-000-target.png") else data)
    with pytest.raises(ImportRefusedError):
        store.import_(tmp_path / "h.zip")
    assert store.names() == []
    with pytest.raises(StorageError):
        store.import_(tmp_path / "missing.zip")
