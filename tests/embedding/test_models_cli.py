from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpa_vision.cli import main


def test_status_without_weights(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main(["models", "status", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["found"] is False and out["model"] == "ViT-B-32"


def test_import_then_status_finds_it(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"weights")
    assert main(["models", "import", str(f)]) == 0
    assert main(["models", "status"]) == 0
    out = capsys.readouterr().out
    assert "found (home)" in out and "open_clip_model.safetensors" in out


def test_import_bad_file_is_one_clear_error(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "import", str(tmp_path / "missing.pt")]) != 0
    bad = tmp_path / "weights.txt"
    bad.write_text("x")
    assert main(["models", "import", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "no such weights file" in err and "Traceback" not in err
