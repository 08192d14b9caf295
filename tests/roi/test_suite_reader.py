"""The bench's reader of a screenshot suite (sidecar JSON files or a manifest)."""

from __future__ import annotations

import json

import cv2
import numpy as np

from benchmarks.cases.roi import suite_screens
from rpa_vision.core import Box


def test_sidecar_and_manifest_formats(tmp_path):
    img = np.full((40, 60, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    (tmp_path / "a.json").write_text(json.dumps({"elements": [{"xyxy": [1, 2, 11, 12]},
                                                              {"xyxy": [5, 5, 9, 9], "clickable": False}]}))
    sub = tmp_path / "qt"
    sub.mkdir()
    cv2.imwrite(str(sub / "b.png"), img)
    (sub / "manifest.json").write_text(json.dumps({"screens": [
        {"image": "b.png", "elements": [{"box": [0, 0, 30, 20]}, [3, 3, 8, 8]], "scale": 2.0},
        {"image": "missing.png", "elements": [[0, 0, 1, 1]]},
    ]}))
    (tmp_path / "notes.json").write_text("not json")
    got = {s.name: s for s in suite_screens(tmp_path)}
    assert set(got) == {"a.png", "qt/b.png"}
    assert got["a.png"].truth == (Box(1, 2, 11, 12),)
    assert got["qt/b.png"].truth == (Box(0, 0, 30, 20), Box(3, 3, 8, 8)) and got["qt/b.png"].scale == 2.0
    assert got["qt/b.png"].frame().monitor.scale == 2.0
    assert suite_screens(tmp_path / "nothing") == []
