"""The one command that regenerates data/suite reproduces it: rebuild a few configurations under
Xvfb and compare with the committed screenshots and ground truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.suite.build import main
from benchmarks.suite.load import DEFAULT_SUITE, load_suite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIGS = ("xcalc_result_base", "xgc_moved", "qt_dialog_base")


def test_rebuilt_screens_match_the_committed_suite(tmp_path: Path) -> None:
    for tool in ("Xvfb", "xdotool", "xwininfo", "xcalc", "xgc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing")
    out = tmp_path / "suite"
    assert main(["--out", str(out), "--only", *CONFIGS]) == 0
    fresh = load_suite(out)
    committed = load_suite(DEFAULT_SUITE)
    assert sorted(s.config for s in fresh) == sorted(CONFIGS)
    for s in fresh:
        ref = committed.get(s.config)
        assert s.elements == ref.elements and s.window == ref.window, s.config
        assert np.array_equal(s.image, ref.image), s.config
        truth = json.loads((out / s.config / "truth.json").read_text())
        assert truth == json.loads((DEFAULT_SUITE / s.config / "truth.json").read_text())


def test_build_rejects_duplicate_configurations(tmp_path: Path) -> None:
    from benchmarks.suite.build import build
    from benchmarks.suite.configs import compact_configs
    from rpa_vision.core.errors import RpaVisionError

    cfg = compact_configs()[0]
    with pytest.raises(RpaVisionError, match="duplicate"):
        build(tmp_path / "x", [cfg, cfg])
    assert not (tmp_path / "x").exists()
