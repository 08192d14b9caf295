"""Atomic save/load: round trips, provenance and schema checks, corruption repair, full disk."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.core.errors import CorruptFileError, ProvenanceMismatchError, SchemaVersionError, StorageError
from rpa_vision.index import IndexConfig, PrototypeIndex, Provenance, load_index, save_index
from rpa_vision.index import persistence as P

from .helpers import clustered, metas

D = 24
PROV = Provenance("builtin", D, "v1")


def _index(n: int = 300, threshold: int = 10_000, prov: Provenance = PROV, seed: int = 0) -> PrototypeIndex:
    ix = PrototypeIndex(prov, IndexConfig(ivf_threshold=threshold, background=False))
    v = clustered(n, D, seed=seed)
    if prov.adapter_version:
        ix.add(v, metas(n), base=clustered(n, D, seed=seed + 100))
    else:
        ix.add(v, metas(n))
    return ix


def _same(a: PrototypeIndex, b: PrototypeIndex) -> None:
    q = clustered(10, D, seed=42)
    ra, rb = a.search(q, 5), b.search(q, 5)
    np.testing.assert_array_equal(ra.ids, rb.ids)
    np.testing.assert_allclose(ra.scores, rb.scores, atol=1e-6)
    assert ra.metadata == rb.metadata
    assert a.kind == b.kind and a.nlist == b.nlist and len(a) == len(b) and a.provenance == b.provenance


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_round_trip_flat_and_ivf(tmp_path: Path, threshold: int) -> None:
    ix = _index(400, threshold)
    ix.remove([5, 6])
    save_index(ix, tmp_path)
    back, report = load_index(tmp_path, expected=PROV)
    _same(ix, back)
    assert report.warnings == [] and report.generation == 1
    assert 5 not in back
    (new_id,) = back.add(clustered(1, D, seed=9), metas(1))
    assert new_id == 400  # ids are never reused, also across saves
    back.remove([7])
    back.update(8, clustered(1, D, seed=9)[0])
    assert 7 not in back and back.search(clustered(1, D, seed=9), 2, nprobe=64).ids[0].tolist() == [8, 400]


def test_adapted_index_keeps_base_vectors(tmp_path: Path) -> None:
    prov = Provenance("builtin", D, "v1", adapter_version=3)
    ix = _index(50, prov=prov)
    save_index(ix, tmp_path)
    back, _ = load_index(tmp_path, expected=prov)
    np.testing.assert_array_equal(back.base_vectors(np.arange(50)), ix.base_vectors(np.arange(50)))


def test_generations_keep_previous_only(tmp_path: Path) -> None:
    ix = _index(50)
    for _ in range(4):
        save_index(ix, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == ["gen-000003", "gen-000004"]
    manifest = json.loads((tmp_path / P.MANIFEST).read_text())
    assert manifest["current"]["generation"] == 4 and manifest["previous"]["generation"] == 3


def test_provenance_mismatch_names_rebuild(tmp_path: Path) -> None:
    save_index(_index(20), tmp_path)
    for other in (Provenance("clip/ViT-B-32", D, "laion"), Provenance("builtin", 32, "v1"),
                  Provenance("builtin", D, "v2"), Provenance("builtin", D, "v1", adapter_version=1)):
        with pytest.raises(ProvenanceMismatchError, match="rpa-vision index rebuild"):
            load_index(tmp_path, expected=other)


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no prototype index"):
        load_index(tmp_path / "nothing")


def test_other_schema_version(tmp_path: Path) -> None:
    save_index(_index(20), tmp_path)
    doc = json.loads((tmp_path / P.MANIFEST).read_text())
    doc["schema_version"] = 99
    (tmp_path / P.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(SchemaVersionError, match="99"):
        load_index(tmp_path)


def test_a_save_over_a_newer_schema_keeps_its_generations(tmp_path: Path) -> None:
    save_index(_index(20), tmp_path)
    foreign = _current_folder(tmp_path)
    doc = json.loads((tmp_path / P.MANIFEST).read_text())
    doc["schema_version"] = doc["current"]["provenance"]["schema_version"] = 2  # as a newer version writes it
    (tmp_path / P.MANIFEST).write_text(json.dumps(doc))
    gen = json.loads((foreign / P.GENERATION).read_text())
    gen["provenance"]["schema_version"] = 2
    (foreign / P.GENERATION).write_text(json.dumps(gen))
    with pytest.raises(SchemaVersionError, match="index rebuild"):
        load_index(tmp_path)
    ours = _index(30, seed=5)
    for _ in range(3):  # saves (e.g. `index rebuild`) never delete what the other version wrote
        save_index(ours, tmp_path)
    assert foreign.is_dir() and (foreign / "index.faiss").is_file()
    assert json.loads((tmp_path / "MANIFEST.schema-2.json").read_text())["schema_version"] == 2
    back, report = load_index(tmp_path)
    _same(ours, back)
    assert report.generation == 4 and len(list(tmp_path.glob("gen-*"))) == 3  # foreign + current + previous


def _current_folder(root: Path) -> Path:
    return root / json.loads((root / P.MANIFEST).read_text())["current"]["folder"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "meta"])
def test_damaged_current_generation_falls_back_to_previous(tmp_path: Path, damage: str) -> None:
    first = _index(100, seed=1)
    save_index(first, tmp_path)
    second = _index(120, seed=2)
    save_index(second, tmp_path)
    cur = _current_folder(tmp_path)
    target = cur / ("meta.npz" if damage == "meta" else "index.faiss")
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        target.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif damage == "delete":
        target.unlink()
    else:
        target.write_bytes(b"not a zip" + data[9:])
    back, report = load_index(tmp_path)
    assert report.generation == 1 and any("generation 1" in w for w in report.warnings)
    _same(first, back)
    with pytest.raises(CorruptFileError):
        load_index(tmp_path, fallback=False)


def test_both_generations_damaged_is_a_clear_error(tmp_path: Path) -> None:
    save_index(_index(30), tmp_path)
    save_index(_index(30), tmp_path)
    for folder in tmp_path.glob("gen-*"):
        (folder / "index.faiss").write_bytes(b"\0" * 10)
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        load_index(tmp_path)


def test_unreadable_manifest_uses_newest_good_generation(tmp_path: Path) -> None:
    save_index(_index(30, seed=1), tmp_path)
    last = _index(40, seed=2)
    save_index(last, tmp_path)
    (tmp_path / P.MANIFEST).write_text("{ half a json")
    back, report = load_index(tmp_path)
    _same(last, back)
    assert any("manifest unreadable" in w for w in report.warnings)


def test_metadata_that_does_not_match_the_index(tmp_path: Path) -> None:
    save_index(_index(30), tmp_path)
    cur = _current_folder(tmp_path)
    # a metadata file from another save (valid checksum after we re-list it) with fewer records
    other = tmp_path / "other"
    save_index(_index(10), other)
    (cur / "meta.npz").write_bytes((_current_folder(other) / "meta.npz").read_bytes())
    doc = json.loads((tmp_path / P.MANIFEST).read_text())
    size, crc = P._crc32_file(cur / "meta.npz")
    doc["current"]["files"]["meta.npz"] = {"size": size, "crc32": crc}
    doc["previous"] = None
    (tmp_path / P.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match="metadata does not match the index"):
        load_index(tmp_path)


def test_full_disk_leaves_previous_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _index(60, seed=3)
    save_index(good, tmp_path)

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(P, "_write_file", full)
    with pytest.raises(StorageError, match="No space left"):
        save_index(_index(80, seed=4), tmp_path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.glob("gen-*")] == ["gen-000001"]  # the partial folder is gone
    back, report = load_index(tmp_path)
    _same(good, back)
    assert report.warnings == []


def test_faiss_write_failure_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_index(_index(10), tmp_path)

    def broken(index: object, path: str) -> None:
        raise RuntimeError("Error in faiss::FileIOWriter: write failed")

    monkeypatch.setattr(P.faiss, "write_index", broken)
    with pytest.raises(StorageError, match="FAISS could not write"):
        save_index(_index(10), tmp_path)
    monkeypatch.undo()
    assert load_index(tmp_path)[1].generation == 1


def test_searches_go_on_while_a_save_holds_writes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    ix = _index(300)
    entered, release = threading.Event(), threading.Event()
    write_index = P.faiss.write_index

    def slow_write(index: Any, path: str) -> None:
        entered.set()
        assert release.wait(30)
        write_index(index, path)

    monkeypatch.setattr(P.faiss, "write_index", slow_write)
    saver = threading.Thread(target=save_index, args=(ix, tmp_path))
    saver.start()
    try:
        assert entered.wait(10)
        added: list[object] = []
        writer = threading.Thread(target=lambda: added.append(ix.add(clustered(1, D, seed=7), metas(1))))
        writer.start()
        time.sleep(0.3)  # the writer is now waiting for the save
        assert not added
        found: list[object] = []
        searcher = threading.Thread(target=lambda: found.append(ix.search(clustered(2, D, seed=8), 3)))
        searcher.start()
        searcher.join(10)
        answered_during_save = bool(found)
    finally:
        release.set()
        saver.join(30)
    writer.join(30)
    assert answered_during_save  # not queued behind the waiting writer
    assert len(added) == 1 and len(ix) == 301
    back, _ = load_index(tmp_path)
    assert len(back) == 300  # the snapshot is the state before the add
