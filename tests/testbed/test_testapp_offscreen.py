"""The Qt test application offscreen: options, geometry dump contents, relayout, pages, dialog."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
REPO = Path(__file__).resolve().parents[2]


def _dump(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "geo.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "ui.testapp", "--dump-geometry", str(out), "--quit-after", "1.5", *args],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-500:]
    return json.loads(out.read_text())


def _boxes(d: dict[str, Any]) -> dict[str, list[int]]:
    return {w["name"]: w["xyxy"] for w in d["widgets"]}


def test_form_page_lists_named_widgets_of_every_kind(tmp_path: Path) -> None:
    d = _dump(tmp_path)
    kinds = {w["kind"] for w in d["widgets"]}
    assert {"button", "checkbox", "radio", "edit", "combo", "spin", "slider", "tab", "tool", "menu", "label",
            "listitem"} <= kinds
    b = _boxes(d)
    assert "btn_reset" not in b  # on the hidden Settings tab
    texts = {w["name"]: w["text"] for w in d["widgets"]}
    assert texts["chk_confirm_shipping"] == texts["chk_confirm_billing"] == "Confirm"
    assert not any(w["clickable"] for w in d["widgets"] if w["kind"] == "label")
    x1, y1, x2, y2 = d["window"]
    for box in b.values():
        assert x1 <= box[0] < box[2] <= x2 and y1 <= box[1] < box[3] <= y2


def test_relayout_moves_help_to_the_top_row(tmp_path: Path) -> None:
    base = _boxes(_dump(tmp_path))
    moved = _boxes(_dump(tmp_path, "--relayout"))
    assert abs(base["btn_help"][1] - base["btn_save"][1]) <= 2  # same row as Save
    assert abs(moved["btn_help"][1] - moved["btn_details"][1]) <= 2  # now beside Details...
    assert moved["btn_help"][1] < moved["btn_save"][1]


def test_pages_and_dialog(tmp_path: Path) -> None:
    settings = _dump(tmp_path, "--page", "2")
    assert settings["page"] == 2 and "btn_reset" in _boxes(settings) and "btn_save" not in _boxes(settings)
    dialog = _dump(tmp_path, "--page", "3")
    assert dialog["dialog"] is not None
    owners = {w["name"]: w["window"] for w in dialog["widgets"]}
    assert owners["dlg_btn_ok"] == "dialog" and owners["btn_save"] == "main"


def test_geometry_option_parsing() -> None:
    from ui.testapp.app import parse_geometry

    assert parse_geometry("800x600+10+20") == (800, 600, 10, 20)
    assert parse_geometry("+5+-7") == (None, None, 5, -7)
    assert parse_geometry("640x480") == (640, 480, None, None)
    for bad in ("", "800x", "abc", "10+10"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_geometry(bad)


def test_slow_option_parsing() -> None:
    from ui.testapp.app import build_parser

    p = build_parser()
    assert p.parse_args([]).slow == 0.0
    assert p.parse_args(["--slow", "2.5"]).slow == 2.5
    for bad in ("-1", "nan", "inf", "soon"):
        with pytest.raises(SystemExit):
            p.parse_args(["--slow", bad])


def _window(qtbot: Any, tmp_path: Path, slow: float) -> Any:
    from ui.testapp.window import EventLog, TestAppWindow

    win = TestAppWindow(EventLog(str(tmp_path / f"events-{slow:g}.log")), slow=slow)
    qtbot.addWidget(win)
    win.resize(800, 600)
    win.show()
    qtbot.waitExposed(win)
    return win


def _click(qtbot: Any, win: Any, name: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    qtbot.mouseClick(win.findChild(QPushButton, name), Qt.MouseButton.LeftButton)


def test_slow_app_looks_the_same_and_opens_the_dialog_late(qtbot: Any, tmp_path: Path) -> None:
    fast, slow = _window(qtbot, tmp_path, 0.0), _window(qtbot, tmp_path, 0.6)
    assert fast.grab().toImage() == slow.grab().toImage()  # --slow changes no pixel until clicked

    _click(qtbot, fast, "btn_details")
    assert fast.dialog is not None and fast.dialog.isVisible()

    _click(qtbot, slow, "btn_details")
    _click(qtbot, slow, "btn_details")  # a second click while loading opens nothing more
    assert slow.dialog is None and slow.log.status.text() == "Loading..."
    qtbot.wait(300)
    assert slow.dialog is None
    qtbot.waitUntil(lambda: slow.dialog is not None and slow.dialog.isVisible(), timeout=5000)
    events = [json.loads(line) for line in (tmp_path / "events-0.6.log").read_text().splitlines()]
    assert [(e["event"], e["widget"]) for e in events] == [("clicked", "btn_details"), ("clicked", "btn_details"),
                                                            ("opened", "dlg_details")]
    assert events[2]["t"] - events[0]["t"] >= 0.5

    _click(qtbot, slow, "btn_next")
    assert slow.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: slow.tabs.currentIndex() == 1, timeout=5000)
    for w in (fast, slow):
        if w.dialog is not None:
            w.dialog.close()
