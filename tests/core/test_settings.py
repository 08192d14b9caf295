"""Settings: validation, round trip, atomic save, corrupt files restored to defaults and kept aside."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rpa_vision.core.errors import StorageError, ValidationError
from rpa_vision.core.paths import Paths
from rpa_vision.core.settings import Settings, load_settings, save_settings


def test_defaults_are_as_documented() -> None:
    s = Settings()
    assert s.auto_confidence == 0.8
    assert s.capture_rate_hz == 2.0
    assert s.encoder == "auto"
    assert s.ocr is True
    assert s.min_confidence < s.auto_confidence


@pytest.mark.parametrize("changes", [
    {"auto_confidence": 1.5}, {"auto_confidence": 0.0}, {"auto_confidence": float("nan")},
    {"min_confidence": 0.9, "auto_confidence": 0.8}, {"capture_rate_hz": 0.0}, {"capture_rate_hz": 500.0},
    {"encoder": ""}, {"stop_hotkey": "ctrl+shift"}, {"abort_hotkey": ""}, {"abort_hotkey": "ctrl++x"},
    {"secret_hotkey": "ctrl+alt+esc"}, {"theme": "neon"}, {"ocr": "yes"}, {"auto_confidence": True},
])
def test_invalid_values_are_refused(changes: dict) -> None:
    with pytest.raises(ValidationError):
        Settings().updated(**changes)


def test_round_trip(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "h")
    s = Settings(auto_confidence=0.9, min_confidence=0.5, capture_rate_hz=1.0, encoder="builtin",
                 stop_hotkey="ctrl+alt+s", ocr=False, theme="dark")
    path = save_settings(s, paths)
    assert path == paths.settings_file
    loaded = load_settings(paths)
    assert loaded.settings == s
    assert loaded.warning == ""
    assert json.loads(path.read_text())["schema_version"] == 1
    # no temporary files left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_missing_file_gives_defaults_quietly(tmp_path: Path) -> None:
    loaded = load_settings(Paths(tmp_path / "nothing"))
    assert loaded.settings == Settings()
    assert loaded.warning == ""
    assert not (tmp_path / "nothing").exists()


def test_unknown_keys_ignored_missing_keys_default(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.settings_file.write_text(json.dumps({"auto_confidence": 0.95, "future_option": 3, "capture_rate_hz": 4}))
    loaded = load_settings(paths)
    assert loaded.settings.auto_confidence == 0.95
    assert loaded.settings.capture_rate_hz == 4.0
    assert loaded.settings.encoder == "auto"


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe garbage", b"[1, 2]",
                                     json.dumps({"auto_confidence": 7}).encode(),
                                     json.dumps({"schema_version": 99}).encode()])
def test_corrupt_file_restores_defaults_and_is_kept_aside(tmp_path: Path, content: bytes,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    paths = Paths(tmp_path)
    paths.settings_file.write_bytes(content)
    with caplog.at_level("WARNING", logger="rpa_vision"):
        loaded = load_settings(paths)
    assert loaded.settings == Settings()
    assert "defaults restored" in loaded.warning
    assert loaded.moved_to is not None and loaded.moved_to.name.startswith("settings.json.bad-")
    assert loaded.moved_to.read_bytes() == content
    assert not paths.settings_file.exists()
    assert any("defaults restored" in r.getMessage() for r in caplog.records)
    # a second bad file in the same second is kept too, under another name
    paths.settings_file.write_bytes(content)
    again = load_settings(paths)
    assert again.moved_to is not None and again.moved_to != loaded.moved_to
    assert again.moved_to.exists() and loaded.moved_to.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_save_to_read_only_home_is_a_clear_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot write"):
            save_settings(Settings(), Paths(ro))
    finally:
        ro.chmod(0o700)


def test_save_refuses_other_types(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        save_settings({"auto_confidence": 0.8}, Paths(tmp_path))  # type: ignore[arg-type]


def test_save_where_the_home_cannot_exist_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot write"):
        save_settings(Settings(), Paths(blocker / "home"))
