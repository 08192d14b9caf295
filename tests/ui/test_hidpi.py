"""HiDPI: on a screen with two device pixels per point the live view is drawn pixel for pixel from a preview made at
its size in device pixels, and the prompt maps the screenshot's physical pixels to logical points
before it places itself away from the candidates. Runs in its own process (the screen is set up
when the QApplication starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
import numpy as np
import ui  # noqa: F401
from PySide6.QtWidgets import QApplication
from PySide6.QtGui import QGuiApplication
from rpa_vision.core.events import Action, ActionKind, Button
from rpa_vision.core.geometry import Box, Point
from rpa_vision.workflow.decisions import DecisionRequest, Located
from ui.live_view import LiveView
from ui.prompt import HealingPrompt

app = QApplication([])
screen = QGuiApplication.primaryScreen()
dpr = screen.devicePixelRatio()
out = {"dpr": dpr}

view = LiveView()
sizes = []
view.resized.connect(lambda w, h: sizes.append((w, h)))
view.resize(400, 225)
view.show()
app.processEvents()
out["resized"] = sizes[-1]
w, h = sizes[-1]
rng = np.random.default_rng(0)
preview = np.ascontiguousarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))  # RGB, 1-pixel detail
view.set_frame(preview, (1920, 1080), rgb=True)
img = view.grab().toImage().convertToFormat(view.grab().toImage().Format.Format_RGB888)
shot = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
shot = shot.reshape(img.height(), img.width(), 3)
out["grab_wh"] = [img.width(), img.height()]
out["identical"] = bool(shot.shape == preview.shape and np.array_equal(shot, preview))
view.close()

g = screen.geometry()
phys_w, phys_h = int(g.width() * dpr), int(g.height() * dpr)
screenshot = np.full((phys_h, phys_w, 3), 200, np.uint8)
cands = [Box(phys_w - 360, 20, phys_w - 20, 120), Box(20, phys_h - 120, 400, phys_h - 20)]
req = DecisionRequest(workflow="w", step_index=0, step_count=1,
                      action=Action(ActionKind.CLICK, point=Point(30, 30), button=Button.LEFT),
                      description="click", reason="low", target_crop=screenshot[:40, :40].copy(),
                      screenshot=screenshot, candidates=tuple(Located(b, 0.6) for b in cands), min_confidence=0.8)
dlg = HealingPrompt(req)
dlg.show()
dlg.place()
app.processEvents()
r = dlg.frameGeometry()
out["logical_screen"] = [g.width(), g.height()]
out["candidates_logical"] = [[b.x1, b.y1, b.x2, b.y2] for b in dlg.candidate_rects()]
out["dialog"] = [r.x(), r.y(), r.x() + r.width(), r.y() + r.height()]
dlg.close()
print("RESULT " + json.dumps(out))
"""


def test_live_view_and_prompt_on_a_screen_with_two_device_pixels_per_point(tmp_path: Path) -> None:
    # a 3840x2160 offscreen screen scaled by 2: 1920x1080 points (the offscreen platform's own "dpr"
    # setting does not reach its windows; Qt's scale factor does, as on a real HiDPI desktop)
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [{"name": "hidpi", "x": 0, "y": 0, "width": 3840, "height": 2160,
                                               "logicalDpi": 96, "logicalBaseDpi": 96}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", QT_SCALE_FACTOR="2",
               RPA_VISION_HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert r.returncode == 0 and line is not None, r.stderr[-2000:]
    out = json.loads(line[len("RESULT "):])
    assert out["dpr"] == 2.0
    assert out["resized"] == [800, 450]  # the preview is made in device pixels, not logical points
    assert out["grab_wh"] == [800, 450] and out["identical"]  # drawn pixel for pixel: sharp on HiDPI
    sw, sh = out["logical_screen"]
    assert [sw, sh] == [1920, 1080]
    c1, c2 = out["candidates_logical"]
    assert c1 == [sw - 180, 10, sw - 10, 60] and c2 == [10, sh - 60, 200, sh - 10]  # physical / 2
    x1, y1, x2, y2 = out["dialog"]
    for bx1, by1, bx2, by2 in (c1, c2):
        assert x2 <= bx1 or bx2 <= x1 or y2 <= by1 or by2 <= y1, (out["dialog"], (bx1, by1, bx2, by2))
