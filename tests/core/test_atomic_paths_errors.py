"""Atomic writes (a failure leaves the old file intact), JSON reading, paths, the error hierarchy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rpa_vision.core import atomic
from rpa_vision.core.atomic import atomic_directory, atomic_write_bytes, atomic_write_json, atomic_write_text, read_json
from rpa_vision.core.errors import (
    CorruptFileError,
    FailSafeTriggered,
    MonitorNotFoundError,
    RpaVisionError,
    SchemaVersionError,
    StorageError,
    UnknownNameError,
    ValidationError,
    WorkflowNotFoundError,
)
from rpa_vision.core.paths import ENV_HOME, Paths, default_home


def _no_temp_left(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_and_read_back(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "f.json"
    atomic_write_json(p, {"a": [1, 2], "é": "ü"})
    assert read_json(p) == {"a": [1, 2], "é": "ü"}
    atomic_write_text(p, "plain")
    assert p.read_text() == "plain"
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert _no_temp_left(p.parent)


def test_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "state.json"
    atomic_write_json(p, {"version": 1})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(StorageError, match="No space left"):
        atomic_write_json(p, {"version": 2})
    monkeypatch.undo()
    assert read_json(p) == {"version": 1}
    assert _no_temp_left(tmp_path)


def test_failed_serialisation_leaves_the_old_file_intact(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    atomic_write_json(p, {"ok": True})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"bad": object()})
    assert read_json(p) == {"ok": True}


def test_write_into_an_unwritable_place_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        atomic_write_bytes(blocker / "child.json", b"{}")


def test_read_json_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such file"):
        read_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CorruptFileError) as ei:
        read_json(bad)
    assert ei.value.path == bad
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CorruptFileError):
        read_json(binary)


def test_atomic_directory_swaps_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "wf"
    with atomic_directory(target) as d:
        (d / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), atomic_directory(target) as d:
        (d / "a.txt").write_text("two")
        raise RuntimeError("crash while building")
    assert (target / "a.txt").read_text() == "one"
    with atomic_directory(target) as d:
        (d / "b.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wf"]


def test_paths_resolve_from_override_env_and_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "envhome"))
    assert default_home() == tmp_path / "envhome"
    assert Paths.resolve().home == (tmp_path / "envhome").resolve()
    assert Paths.resolve(tmp_path / "override").home == (tmp_path / "override").resolve()
    monkeypatch.delenv(ENV_HOME)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert default_home() == tmp_path / "xdg" / "rpa-vision"


def test_paths_touch_nothing_until_ensure(tmp_path: Path) -> None:
    p = Paths(tmp_path / "h")
    names = [p.workflows, p.index, p.cache, p.models, p.adapters, p.finetune, p.reports, p.logs, p.settings_file]
    assert all(n.parent == p.home for n in names)
    assert len(set(names)) == len(names)
    assert not p.home.exists()
    p.ensure(p.workflows, p.index)
    assert p.workflows.is_dir() and p.index.is_dir() and not p.cache.exists()
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create"):
        Paths(blocker / "home").ensure()


def test_errors_carry_data_and_print_one_line(tmp_path: Path) -> None:
    e = UnknownNameError("encoder", "foo", ["clip", "builtin"])
    assert str(e) == "unknown encoder 'foo'; valid: builtin, clip"
    assert isinstance(e, KeyError) and isinstance(e, RpaVisionError)
    m = MonitorNotFoundError(3, 2)
    assert (m.index, m.count) == (3, 2) and "1..2" in str(m)
    v = ValidationError("bad", field="x", value=5)
    assert isinstance(v, ValueError) and v.data == {"field": "x", "value": 5}
    f = FailSafeTriggered("corner")
    assert f.exit_code == 3 and "corner" in str(f)
    s = SchemaVersionError(tmp_path / "w.json", 9, 2)
    assert s.found == 9 and "9" in str(s)
    w = WorkflowNotFoundError("demo", tmp_path)
    assert w.name == "demo" and "demo" in str(w)
    for err in (e, m, v, f, s, w):
        assert "\n" not in str(err)
