"""The command line itself: ``doctor``, ``bench`` and the top-level parser, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpa_vision.cli import main


def test_doctor_without_a_display_says_so_and_still_reports_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["doctor", "--home", str(tmp_path), "--json"]) == 0  # home, numpy, opencv are what it needs
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert {"home", "display", "capture", "input", "torch", "clip", "faiss", "ocr", "qt"} <= set(checks)
    assert checks["display"]["ok"] is False and "DISPLAY" in checks["display"]["detail"]
    assert checks["home"]["ok"] and "writable" in checks["home"]["detail"]
    assert checks["faiss"]["ok"] and checks["numpy"]["ok"]


def test_doctor_text_is_one_line_per_capability(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    main(["doctor", "--home", str(tmp_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 11 and all(line[:3] in ("ok ", "NO ") for line in lines)


def test_doctor_on_an_unwritable_home_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["doctor", "--home", str(blocker / "home"), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["home"]["ok"] is False and "is a file, not a folder" in checks["home"]["detail"]


def test_bench_lists_its_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    for case in ("roi/4k_cold", "index/search_10k", "eval/locate", "app/idle_cpu", "finetune/train_100_examples"):
        assert case in out


def test_bench_quick_runs_a_case_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["bench", "--quick", "--only", "embedding/cache_hit", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    names = {r["name"] for r in rep["results"]}
    assert {"cache_get_hit", "cache_hit_rate"} <= names and rep["quick"] is True and not rep["errors"]
    assert "cache_get_hit" in capsys.readouterr().out  # the table


def test_bench_with_no_matching_case_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--only", "nothing/like/this"])
    assert code != 0
    assert "no benchmark case matches" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "doctor" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "rpa-vision" in capsys.readouterr().out
