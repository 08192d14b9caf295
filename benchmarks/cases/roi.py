"""ROI optimizer figures: 4K cold, unchanged frame, one widget changed, recall on real screens."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Screen:
    """A screenshot (BGR) of real applications and the boxes of their clickable elements."""

    name: str
    image: np.ndarray
    truth: tuple[Box, ...]
    scale: float = 1.0  # the screen's scale factor (physical pixels per logical point)

    def frame(self) -> Frame:
        return Frame.from_array(self.image, scale=self.scale)


# Window layouts: (program, arguments, window name to wait for).
_LAYOUTS: dict[str, list[tuple[str, list[str], str]]] = {
    "default": [
        ("xcalc", ["-geometry", "+20+20"], "Calculator"),
        ("xedit", ["-geometry", "700x500+400+60"], "xedit"),
        ("xlogo", ["-geometry", "+1200+60"], "xlogo"),
        ("xclock", ["-geometry", "+1200+400"], "xclock"),
    ],
    "moved_bigfont": [
        ("xcalc", ["-geometry", "+900+300", "-fn", "10x20"], "Calculator"),
        ("xedit", ["-geometry", "600x400+60+500", "-fn", "10x20"], "xedit"),
        ("xlogo", ["-geometry", "150x150+300+80"], "xlogo"),
    ],
}


def _truth(program: str, wid: int, env: dict[str, str]) -> list[Box]:
    """Clickable elements of a window, from its X window tree."""
    from rpa_vision.testbed.xdotool import window_box, window_tree

    if program == "xcalc":  # every button is a child window of the form; skip the display frame
        top = window_box(wid, env)
        kids = [w for w in window_tree(wid, env) if w.depth == 1]
        return [w.box for w in kids if w.box.height < 0.2 * top.height]
    if program == "xedit":  # the command buttons of the button bar (Quit, Save, Load)
        tree = window_tree(wid, env)
        bar = [w for w in tree if w.depth == 1 and w.box.height < 30]
        if not bar:
            return []
        top_bar = min(bar, key=lambda w: w.box.y1)
        kids = [w for w in tree if w.depth == 2 and top_bar.box.contains_box(w.box) and w.box.width < 100]
        return [w.box for w in kids]
    return [window_box(wid, env)]  # xlogo, xclock: the whole window is the target


def _capture_layout(x: Any, layout: str) -> Screen:
    import mss

    from rpa_vision.testbed.xdotool import XDo

    w, h = x.width, x.height
    procs: list[subprocess.Popen[bytes]] = []
    try:
        truth: list[Box] = []
        xd = XDo(x.env)
        for prog, args, title in _LAYOUTS[layout]:
            procs.append(subprocess.Popen([prog, *args], env=x.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            wid = xd.search(title, timeout=15.0)
            truth += _truth(prog, wid, x.env)
        time.sleep(0.8)  # let the apps finish drawing
        with mss.MSS(display=x.display) as grab:
            img = np.asarray(grab.grab(grab.monitors[1]))[:, :, :3]
        return Screen(f"{layout}_{w}x{h}", np.ascontiguousarray(img), tuple(truth))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def x11_screens(sizes: tuple[tuple[int, int], ...] = ((1920, 1080),),
                layouts: tuple[str, ...] = ("default", "moved_bigfont"), attempts: int = 3) -> list[Screen]:
    """Screenshots of x11-apps under Xvfb with ground truth from ``xwininfo``. Needs Xvfb,
    xdotool, xwininfo and the apps; raises the test bed's errors when they are missing. A busy
    machine (or a display number taken by someone else meanwhile) gets a fresh server, up to
    ``attempts`` times."""
    from rpa_vision.core.errors import RpaVisionError
    from rpa_vision.testbed import Xvfb

    out: list[Screen] = []
    for w, h in sizes:
        for layout in layouts:
            for attempt in range(attempts):
                try:
                    with Xvfb(w, h) as x:
                        out.append(_capture_layout(x, layout))
                    break
                except RpaVisionError:
                    if attempt == attempts - 1:
                        raise
    return out


# A Qt form rendered offscreen in its own process (the library never imports Qt); prints JSON
# with the clickable widgets' boxes in image pixels. Check and radio boxes count as wide as
# their indicator and label (what the style makes clickable), not the layout cell.
_QT_FORM = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QPushButton, QRadioButton, QSlider, QSpinBox, QStyleFactory, QToolButton, QWidget)
style, out = sys.argv[1], sys.argv[2]
app = QApplication([])
app.setStyle(QStyleFactory.create(style))
w = QWidget()
w.resize(900, 600)
lay = QGridLayout(w)
clickable = []
def add(wid, r, c, rs=1, cs=1):
    lay.addWidget(wid, r, c, rs, cs)
    clickable.append(wid)
for i, t in enumerate(["Open", "Save", "Close", "Apply", "Cancel"]):
    add(QPushButton(t), 0, i)
add(QLineEdit("some text"), 1, 0, 1, 3)
add(QLineEdit(), 1, 3, 1, 2)
add(QCheckBox("Enable feature"), 2, 0, 1, 2)
add(QRadioButton("Option A"), 2, 2)
add(QRadioButton("Option B"), 2, 3)
cb = QComboBox()
cb.addItems(["First", "Second"])
add(cb, 3, 0, 1, 2)
add(QSpinBox(), 3, 2)
add(QSlider(Qt.Horizontal), 3, 3, 1, 2)
lay.addWidget(QLabel("A plain label"), 4, 0)
g = QGroupBox("Group")
gl = QHBoxLayout(g)
for t in ["One", "Two", "Three"]:
    b = QPushButton(t)
    gl.addWidget(b)
    clickable.append(b)
tb = QToolButton()
tb.setText("...")
gl.addWidget(tb)
clickable.append(tb)
lay.addWidget(g, 5, 0, 1, 5)
lst = QListWidget()
lst.addItems([f"Item {i}" for i in range(5)])
add(lst, 6, 0, 1, 5)
w.show()
app.processEvents()
pix = w.grab()
dpr = pix.devicePixelRatio()
pix.toImage().save(out)
boxes = []
for c in clickable:
    p = c.mapTo(w, c.rect().topLeft())
    cw = min(c.width(), c.sizeHint().width()) if isinstance(c, (QCheckBox, QRadioButton)) else c.width()
    boxes.append([p.x() * dpr, p.y() * dpr, (p.x() + cw) * dpr, (p.y() + c.height()) * dpr])
print(json.dumps({"boxes": boxes, "dpr": dpr}))
"""


def qt_screens(styles: tuple[str, ...] = ("Fusion", "Windows"), scales: tuple[float, ...] = (1.0, 2.0)) -> list[Screen]:
    """A Qt form (buttons, line edits, check/radio boxes, combo, spin box, slider, tool button,
    list) rendered offscreen in each style and scale factor, with its widgets' boxes."""
    import os
    import sys
    import tempfile

    out: list[Screen] = []
    with tempfile.TemporaryDirectory() as d:
        for style in styles:
            for scale in scales:
                png = str(Path(d) / f"{style}_{scale}.png")
                env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": str(scale)}
                r = subprocess.run([sys.executable, "-c", _QT_FORM, style, png], env=env, capture_output=True,
                                   text=True, timeout=120)
                if r.returncode != 0:
                    raise RuntimeError(f"Qt form ({style}, x{scale}) failed: {r.stderr.strip()[-300:]}")
                doc = json.loads(r.stdout.strip().splitlines()[-1])
                img = cv2.imread(png, cv2.IMREAD_COLOR)
                if img is None:
                    raise RuntimeError(f"Qt form ({style}, x{scale}) wrote no image")
                truth = tuple(Box.from_seq(b) for b in doc["boxes"])
                out.append(Screen(f"qt_{style}_x{scale:g}", img, truth, float(doc["dpr"])))
    return out


def _boxes_of(items: object) -> list[Box]:
    """Element boxes from a list of ``[x1, y1, x2, y2]`` or of dicts with ``xyxy``/``box``/``bbox``
    (elements marked ``"clickable": false`` are left out)."""
    out: list[Box] = []
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict):
            if it.get("clickable") is False:
                continue
            it = it.get("xyxy", it.get("box", it.get("bbox")))
        if isinstance(it, list) and len(it) == 4 and all(isinstance(v, (int, float)) for v in it):
            out.append(Box.from_seq([float(v) for v in it]))
    return out


def suite_screens(root: Path | None = None) -> list[Screen]:
    """The bundled screenshot suite (data/suite) when it is there. Every JSON file is read as
    a sidecar of the PNG with the same stem (``{"elements": [...]}`` or a list of boxes; a
    ``truth.json`` goes with the ``screen.png`` beside it), or as a manifest: entries (a list,
    or ``{"screens": [...]}``) with ``image`` and ``elements``."""
    root = REPO / "data" / "suite" if root is None else root
    out: list[Screen] = []
    if not root.is_dir():
        return out
    for meta in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        entries: list[tuple[Path, object, float]] = []
        listed = doc.get("screens") if isinstance(doc, dict) else doc
        if isinstance(listed, list) and listed and all(isinstance(e, dict) and "image" in e for e in listed):
            for e in listed:
                entries.append((meta.parent / str(e["image"]), e.get("elements", e.get("boxes")),
                                float(e.get("scale", 1.0))))
        else:  # a sidecar: a.json next to a.png, or truth.json next to screen.png
            png = meta.parent / "screen.png" if meta.name == "truth.json" else meta.with_suffix(".png")
            if png.is_file():
                items = doc.get("elements", doc.get("boxes")) if isinstance(doc, dict) else doc
                scale = float(doc.get("scale", 1.0)) if isinstance(doc, dict) else 1.0
                entries.append((png, items, scale))
        for png, items, scale in entries:
            boxes = _boxes_of(items)
            img = cv2.imread(str(png), cv2.IMREAD_COLOR) if png.is_file() else None
            if img is not None and boxes:
                out.append(Screen(str(png.relative_to(root)), img, tuple(boxes), scale))
    return out


BUSY = REPO / "data" / "screens"


def busy_screens() -> list[Screen]:
    """The busy desktops of real applications in data/screens (scripts/make_busy_screens.py):
    1920x1080 and 3840x2160, clickable elements only."""
    return suite_screens(BUSY)


def busy_4k() -> tuple[np.ndarray, str]:
    """A busy 4K BGRA frame: the real screenshot when bundled, else a drawn stand-in (and which)."""
    for s in busy_screens():
        if s.image.shape[:2] == (2160, 3840):
            return cv2.cvtColor(s.image, cv2.COLOR_BGR2BGRA), f"data/screens/{s.name}"
    return synthetic_busy_frame(), "synthetic (data/screens missing)"


def synthetic_busy_frame(width: int = 3840, height: int = 2160, seed: int = 0) -> np.ndarray:
    """A BGRA desktop-like frame: windows with title bars, bordered buttons, text lines, icons."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 4), 60, np.uint8)
    s = height / 1080
    for _ in range(6):
        ww, wh = int(rng.integers(500, 900) * s), int(rng.integers(300, 600) * s)
        x, y = int(rng.integers(0, width - ww)), int(rng.integers(0, height - wh))
        cv2.rectangle(img, (x, y), (x + ww, y + wh), (236, 236, 236, 255), -1)
        cv2.rectangle(img, (x, y), (x + ww, y + int(28 * s)), (200, 120, 40, 255), -1)
        cv2.putText(img, "Window title", (x + int(8 * s), y + int(20 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * s, (255, 255, 255, 255), max(1, int(s)))
        for j in range(int(rng.integers(6, 14))):
            bx = x + int(rng.integers(10, max(11, ww - int(140 * s))))
            by = y + int(40 * s) + int(rng.integers(0, max(1, wh - int(80 * s))))
            bw, bh = int(rng.integers(60, 130) * s), int(rng.integers(22, 32) * s)
            cv2.rectangle(img, (bx, by), (bx + bw, by + bh), (250, 250, 250, 255), -1)
            cv2.rectangle(img, (bx, by), (bx + bw, by + bh), (120, 120, 120, 255), max(1, int(s)))
            cv2.putText(img, f"Item {j}", (bx + int(6 * s), by + int(bh * 0.7)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4 * s, (20, 20, 20, 255), max(1, int(s)))
    return img


@bench_case("4k_cold", "roi")
def roi_4k_cold(ctx: BenchContext) -> None:
    """Regions of a busy 4K BGRA screenshot of real applications, nothing cached."""
    from rpa_vision.roi import ROIConfig, ROIOptimizer

    opt = ROIOptimizer(ROIConfig(cache_entries=0))
    img, source = busy_4k()
    frame = Frame.from_array(img, "BGRA")
    res = opt.propose(frame)
    ctx.time("4k_cold", lambda: opt.propose(frame), repeats=20, target="<= 25 ms",
             extra={"regions": len(res.regions), "source": source,
                    "stages_ms": {k: round(v, 2) for k, v in res.timings_ms.items()}})


@bench_case("1080p_cold", "roi")
def roi_1080p_cold(ctx: BenchContext) -> None:
    """Regions of the busy 1080p screenshot (BGRA), nothing cached."""
    from rpa_vision.roi import ROIConfig, ROIOptimizer

    screens = [s for s in busy_screens() if s.image.shape[:2] == (1080, 1920)]
    if not screens:
        return
    opt = ROIOptimizer(ROIConfig(cache_entries=0))
    frame = Frame.from_array(cv2.cvtColor(screens[0].image, cv2.COLOR_BGR2BGRA), "BGRA")
    n = len(opt.propose(frame).regions)
    ctx.time("1080p_cold", lambda: opt.propose(frame), repeats=20, extra={"regions": n, "source": screens[0].name})


@bench_case("4k_cold_mser", "roi", quick=False)
def roi_4k_cold_mser(ctx: BenchContext) -> None:
    """The same busy 4K frame with MSER text blobs on (at half the working resolution)."""
    from rpa_vision.roi import ROIConfig, ROIOptimizer

    opt = ROIOptimizer(ROIConfig(cache_entries=0, mser=True))
    img, source = busy_4k()
    frame = Frame.from_array(img, "BGRA")
    n = len(opt.propose(frame).regions)
    ctx.time("4k_cold_mser", lambda: opt.propose(frame), repeats=10, extra={"regions": n, "source": source})


@bench_case("unchanged", "roi")
def roi_unchanged(ctx: BenchContext) -> None:
    """The same 4K frame again: a cache hit by frame key."""
    from rpa_vision.roi import ROIOptimizer

    opt = ROIOptimizer()
    img, source = busy_4k()
    frame = Frame.from_array(img, "BGRA")
    opt.propose(frame)
    ctx.time("unchanged", lambda: opt.propose(frame), repeats=200, target="<= 1 ms", extra={"source": source})


def changed_widget(base: np.ndarray, i: int) -> tuple[np.ndarray, Box]:
    """``base`` with one button-sized widget redrawn (variant ``i``) and its box (frame pixels):
    the Save button of the Qt application when the real screenshot is used."""
    box = Box(1000, 800, 1240, 860)
    truth = BUSY / "busy_4k" / "truth.json"
    if base.shape[:2] == (2160, 3840) and truth.is_file():
        for e in json.loads(truth.read_text()).get("elements", []):
            if str(e.get("id", "")).endswith("/btn_save"):
                box = Box.from_seq(e["xyxy"])
                break
    img = base.copy()
    x1, y1, x2, y2 = box.as_int_tuple()
    cv2.rectangle(img, (x1 + 2, y1 + 2), (x2 - 3, y2 - 3), (40 + 20 * (i % 10), 200, 90, 255), -1)
    cv2.putText(img, f"OK {i}", (x1 + 12, y2 - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0, 255), 2)
    return img, box


@bench_case("incremental_one_widget", "roi")
def roi_incremental(ctx: BenchContext) -> None:
    """A 4K frame where one button changed, with its dirty rectangle: only its tiles are redone."""
    from rpa_vision.roi import ROIOptimizer

    base, source = busy_4k()
    opt = ROIOptimizer()
    variants = [changed_widget(base, i) for i in range(8)]  # distinct frames: no cache hits
    k = [0]

    def setup() -> None:  # start from the base frame each time, untimed
        opt.clear()
        opt.propose(Frame.from_array(base, "BGRA"))

    def once() -> None:
        k[0] += 1
        img, box = variants[k[0] % len(variants)]
        opt.propose(Frame.from_array(img, "BGRA", timestamp=float(k[0])), [box])

    ctx.time("incremental_one_widget", once, setup=setup, repeats=20, target="<= 8 ms",
             extra={"note": "frame construction (frame key) included", "source": source,
                    "widget": list(variants[0][1].as_int_tuple())})


@bench_case("recall", "roi", quick=False)
def roi_recall(ctx: BenchContext) -> None:
    """Recall (IoU >= 0.5) of clickable elements on real application screenshots: the busy
    desktops (data/screens, 1080p and 4K) and the perturbation suite (data/suite), each its own
    figure; without either, x11-apps captured under Xvfb now and a Qt form rendered offscreen."""
    from rpa_vision.roi import ROIOptimizer
    from rpa_vision.roi.evaluate import recall_at

    groups = {"busy": busy_screens(), "suite": suite_screens()}
    if not any(groups.values()):
        groups = {"live": x11_screens(((1920, 1080), (3840, 2160))) + qt_screens()}
    opt = ROIOptimizer()
    for group, screens in groups.items():
        if not screens:
            continue
        found = total = 0
        per: dict[str, float] = {}
        for s in screens:
            rep = recall_at(opt.propose(s.frame()).regions, s.truth)
            found += rep.found
            total += rep.total
            per[s.name] = round(rep.recall, 4)
        ctx.value(f"recall_iou50_{group}", found / max(1, total), "ratio", target=">= 0.95",
                  extra={"elements": total, "screens": per})
