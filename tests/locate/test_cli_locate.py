"""``rpa-vision locate`` on screenshots: JSON contract, plain table, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpa_vision.cli import main
from rpa_vision.core.geometry import Box
from tests.locate.helpers import hit, scene


@pytest.fixture()
def shots(tmp_path: Path) -> tuple[Path, Path, dict[str, Box], dict[str, Box]]:
    ref, ref_boxes = scene()
    screen, boxes = scene("dark")
    rp, sp = tmp_path / "ref.png", tmp_path / "shot.png"
    cv2.imwrite(str(rp), ref)
    cv2.imwrite(str(sp), screen)
    return rp, sp, ref_boxes, boxes


def _box_arg(b: Box) -> str:
    return ",".join(str(int(v)) for v in b.as_tuple())


def test_reference_and_box_json(shots, capsys, home) -> None:
    rp, sp, ref_boxes, boxes = shots
    rc = main(["locate", "--reference", str(rp), "--box", _box_arg(ref_boxes["cb_proxy"]), "--screen", str(sp),
               "--top", "3", "--json", "--no-ocr"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert 1 <= len(out) <= 3
    assert {"xyxy", "confidence", "score", "evidence", "scale"} <= set(out[0])
    assert hit(Box.from_seq(out[0]["xyxy"]), boxes["cb_proxy"])
    assert out[0]["confidence"] >= out[-1]["confidence"]


def test_target_image_plain_table(shots, tmp_path, capsys, home) -> None:
    rp, sp, ref_boxes, boxes = shots
    ref = cv2.imread(str(rp))
    assert ref is not None
    x1, y1, x2, y2 = ref_boxes["btn_apply"].as_int_tuple()
    tp = tmp_path / "target.png"
    cv2.imwrite(str(tp), ref[y1:y2, x1:x2])
    rc = main(["locate", str(tp), "--screen", str(sp), "--top", "2", "--no-ocr"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert lines[0].split()[:2] == ["#", "confidence"] and len(lines) == 3
    xyxy = Box.from_seq([float(v) for v in lines[1].split()[4].split(",")])
    assert hit(xyxy, boxes["btn_apply"])


def test_no_candidate_exits_1(shots, tmp_path, capsys, home) -> None:
    rp, _, ref_boxes, _ = shots
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((400, 600, 3), 200, np.uint8))
    rc = main(["locate", "--reference", str(rp), "--box", _box_arg(ref_boxes["btn_ok"]), "--screen", str(blank),
               "--json", "--no-ocr"])
    assert rc == 1
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["locate", "{missing}", "--screen", "{shot}"],
        ["locate", "{corrupt}", "--screen", "{shot}"],
        ["locate", "--reference", "{ref}", "--box", "0,0,5000,20", "--screen", "{shot}"],
        ["locate", "--reference", "{ref}", "--box", "10,10,10,40", "--screen", "{shot}"],
        ["locate", "--reference", "{ref}", "--box", "10,10,oops", "--screen", "{shot}"],
        ["locate", "--reference", "{ref}", "--screen", "{shot}"],
        ["locate", "--box", "1,1,20,20", "--screen", "{shot}"],
        ["locate", "--screen", "{shot}"],
        ["locate", "{ref}", "--screen", "{corrupt}"],
        ["locate", "{ref}", "--screen", "{shot}", "--top", "0"],
    ],
)
def test_bad_input_is_one_line_and_nonzero(argv, shots, tmp_path, capsys, home) -> None:
    rp, sp, _, _ = shots
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    subst = {"{missing}": str(tmp_path / "nope.png"), "{corrupt}": str(corrupt), "{shot}": str(sp), "{ref}": str(rp)}
    rc = main([subst.get(a, a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert len(err) == 1 and err[0].startswith("rpa-vision locate: error:"), err
