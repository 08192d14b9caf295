"""Render the README screenshots of the desktop app: docs/img/main_window.png and docs/img/prompt.png.

Runs offscreen (no display needed) on the bundled xcalc screenshots (data/suite): the app records
"1 + 2 =" on xcalc through the library's fake input device, replays it with the real Locator,
watches the screen (live view with the ROI overlay and the state match), and the self-healing
prompt asks about the "+" key on a moved xcalc window. User state goes to a temporary home.

    python scripts/render_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _truth(name: str) -> tuple[Any, dict[str, Any]]:
    import cv2

    folder = REPO / "data" / "suite" / name
    img = cv2.imread(str(folder / "screen.png"), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"missing test bed screenshot {folder / 'screen.png'}")
    doc = json.loads((folder / "truth.json").read_text())
    boxes = {e["id"]: e["xyxy"] for e in doc["elements"]}
    boxes.update({f"key:{e['text']}": e["xyxy"] for e in doc["elements"] if e.get("text")})
    return img, boxes


KEYS = {k: f"key:{k}" for k in ("1", "+", "2", "=", "-")}


def _wait(app: Any, cond: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def render_main_window(app: Any, out: Path, home: Path) -> Path:
    from rpa_vision.capture import FakeScreenSource
    from rpa_vision.core.events import Button, EventKind, InputEvent
    from rpa_vision.core.geometry import Box, Point
    from rpa_vision.input import FakeInputPlayer, FakeInputRecorder
    from ui.main_window import MainWindow
    from ui.services import Backends

    screen, boxes = _truth("xcalc_base")
    recorder, player = FakeInputRecorder(), FakeInputPlayer()
    backends = Backends(screen_source=lambda: FakeScreenSource([screen]), input_recorder=lambda: recorder,
                        hotkey_recorder=FakeInputRecorder, player=lambda: player, global_hotkeys=False,
                        tray=False, watch=False, encoder=lambda name, h: _encoder())
    w = MainWindow(str(home), backends=backends)
    w.resize(1500, 900)
    w.move(1950, 0)  # off the fake screen, so the recorded clicks are not on the app itself
    w.show()
    w.library.name_edit.setText("xcalc-add")
    w.library.record_button.click()
    _wait(app, lambda: recorder.is_running, 10, "the recorder")
    time.sleep(0.3)
    for key in ("1", "+", "2", "="):
        p = Box.from_seq(boxes[KEYS[key]]).center
        for kind in (EventKind.PRESS, EventKind.RELEASE):
            recorder.emit(InputEvent(kind, point=Point(p.x, p.y), button=Button.LEFT))
        time.sleep(0.2)
    w.library.stop_button.click()
    _wait(app, lambda: w.last_recorded is not None, 30, "the recording to be saved")
    _wait(app, lambda: w.library.select("xcalc-add"), 10, "the library")
    asked: list[str] = []
    order = [Box.from_seq(boxes[KEYS[k]]) for k in ("1", "+", "2", "=")]

    def answer(dlg: Any) -> None:
        """Answer as a person would: confirm a right guess, else pick the right key on the screenshot."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        truth = order[dlg.request.step_index]
        asked.append(dlg.request.reason)
        best = dlg.request.candidates[0].box if dlg.request.candidates else None
        if best is not None and best.iou(truth) > 0.5:
            dlg.confirm()
            return
        dlg.start_pick()
        dlg.zoom_box.setChecked(False)
        QTest.mouseClick(dlg.view, Qt.MouseButton.LeftButton, pos=dlg.view.to_widget(truth.center))

    w.decider.bridge.prompt_shown.connect(answer)
    w.library.replay_button.click()
    _wait(app, lambda: w.last_report is not None, 120, "the replay")
    if asked:
        print(f"the replay asked {len(asked)} time(s): {asked}")
    w.roi_toggle.setChecked(True)
    w.set_watching(True)
    _wait(app, lambda: w.live_view.frames_shown > 0 and w.match_panel.result is not None, 60, "the live view")
    w.refresh_stats()
    w.tabs.setCurrentWidget(w.replay_panel)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    path = out / "main_window.png"
    if not w.grab().save(str(path)):
        raise SystemExit(f"cannot write {path}")
    print(f"replay: {w.last_report.summary()}")
    w.shutdown()
    w.close()
    w.deleteLater()
    return path


def render_prompt(app: Any, out: Path) -> Path:
    from rpa_vision.core.events import Action, ActionKind, Button
    from rpa_vision.core.geometry import Box
    from rpa_vision.workflow.decisions import DecisionRequest, Located
    from ui.prompt import HealingPrompt

    base, base_boxes = _truth("xcalc_base")
    moved, moved_boxes = _truth("xcalc_colors")
    tb = Box.from_seq(base_boxes[KEYS["+"]])
    x1, y1, x2, y2 = tb.as_int_tuple()
    cands = (Located(Box.from_seq(moved_boxes[KEYS["+"]]), 0.64),
             Located(Box.from_seq(moved_boxes[KEYS["-"]]), 0.41))
    req = DecisionRequest("xcalc-add", 1, 4, Action(ActionKind.CLICK, point=tb.center, button=Button.LEFT),
                          "click the '+' key", "confidence 0.64 below 0.80 (the colours changed)",
                          base[y1:y2, x1:x2].copy(), moved, cands, 0.8)
    dlg = HealingPrompt(req, auto_place=False)
    dlg.resize(1100, 620)
    dlg.show()
    dlg.view.set_pick_mode(False)
    for _ in range(10):
        app.processEvents()
    path = out / "prompt.png"
    if not dlg.grab().save(str(path)):
        raise SystemExit(f"cannot write {path}")
    dlg.close()
    dlg.deleteLater()
    return path


def _encoder() -> Any:
    from rpa_vision.embedding import create_encoder

    return create_encoder("builtin")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from PySide6.QtWidgets import QApplication

    import ui  # noqa: F401  (applies the Qt binding work-around first)

    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="rpa-vision-shots-") as tmp:
        os.environ["RPA_VISION_HOME"] = str(Path(tmp) / "home")
        print(render_main_window(app, args.out, Path(tmp) / "home"))
        print(render_prompt(app, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
