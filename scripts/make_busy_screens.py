"""Busy desktops of real applications, for the perception benchmarks: ``python scripts/make_busy_screens.py``.

Starts Xvfb at 1920x1080 and at 3840x2160, fills each screen with real programs side by side
(the project's Qt test application on several pages and scale factors, xgc, xcalc, xedit with
a source file loaded, xfontsel, xclock, xlogo, xeyes, xload), and writes per screen a folder
with ``screen.png`` and ``truth.json``: every element whose box the program itself reports (the
Qt application's geometry dump; xcalc's, xgc's and xedit's X window trees), with a stable id, a
kind and whether it is clickable. Windows never overlap (checked), so every box is visible.
The output folder (``data/screens`` by default) is replaced atomically.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rpa_vision.core.atomic import atomic_directory, atomic_write_bytes, atomic_write_json  # noqa: E402
from rpa_vision.core.errors import RpaVisionError  # noqa: E402
from rpa_vision.core.geometry import Box  # noqa: E402

SCHEMA_VERSION = 1
DESKTOP = "#3b6a8f"
TEXT_FILE = REPO / "rpa_vision" / "core" / "geometry.py"  # something real to show in the editor


@dataclass(frozen=True)
class Placed:
    """One program on the screen: what to start and where (X geometry, logical for Qt)."""

    app: str  # "qt", "xcalc", "xgc", "xedit" or any other X toolkit program
    geometry: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    name: str
    size: tuple[int, int]
    programs: tuple[Placed, ...]


LAYOUTS: tuple[Layout, ...] = (
    Layout("busy_1080p", (1920, 1080), (
        Placed("xgc", "+0+0"),
        Placed("qt", "+892+0", {"page": 1}),
        Placed("xcalc", "+1410+0"),
        Placed("qt", "+892+500", {"page": 2}),
        Placed("xedit", "500x380+1410+410"),
        Placed("xfontsel", "+0+690"),
        Placed("xclock", "150x150+0+900"),
        Placed("xlogo", "150x150+160+900"),
        Placed("xeyes", "150x150+320+900"),
        Placed("xload", "400x150+480+900"),
        Placed("xclock", "480x270+1410+800", {"args": ["-digital", "-update", "3600"]}),
    )),
    Layout("busy_4k", (3840, 2160), (
        Placed("qt", "+0+0", {"page": 1, "scale": 2.0}),
        Placed("qt", "+520+0", {"page": 3, "scale": 2.0}),
        Placed("xgc", "+2080+0"),
        Placed("xcalc", "+2980+0"),
        Placed("xcalc", "+3220+0", {"font": "10x20", "name": "bigcalc"}),
        Placed("qt", "+0+690", {"page": 2, "scale": 1.5}),
        Placed("xedit", "1200x900+800+1010", {"font": "10x20"}),
        Placed("xload", "440x300+2080+690"),
        Placed("xgc", "+2080+1040", {"font": "9x15", "name": "xgcbig"}),
        Placed("xfontsel", "+2540+690"),
        Placed("xclock", "300x300+3500+1100"),
        Placed("xlogo", "300x300+0+1850"),
        Placed("xeyes", "300x300+320+1850"),
    )),
)

_WINDOW_NAMES = {"xcalc": "Calculator", "xgc": "^xgc$", "xedit": "^xedit", "xfontsel": "xfontsel",
                 "xclock": "xclock", "xlogo": "xlogo", "xeyes": "xeyes", "xload": "xload"}


def _occupied(env: dict[str, str]) -> set[int]:
    """Ids of the visible top-level windows now."""
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "."], env=env, capture_output=True,
                         text=True, timeout=10, check=False).stdout
    return {int(x) for x in out.split()}


def _new_window(env: dict[str, str], before: set[int], name: str, timeout: float = 20.0) -> int:
    """The visible window named ``name`` that was not there before (programs may share names)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], env=env, capture_output=True,
                             text=True, timeout=10, check=False).stdout
        ids = [int(x) for x in out.split() if int(x) not in before]
        if ids:
            return ids[0]
        time.sleep(0.1)
    raise RpaVisionError(f"no new window {name!r} appeared within {timeout:.0f} s")


def _xedit_elements(wid: int, env: dict[str, str], prefix: str) -> list[dict[str, Any]]:
    """xedit's command buttons (Quit, Save, Load: the narrow children of its top bar)."""
    from rpa_vision.testbed.xdotool import window_tree

    tree = window_tree(wid, env)
    bar = [w for w in tree if w.depth == 1 and w.box.height < 40]
    if not bar:
        return []
    top_bar = min(bar, key=lambda w: w.box.y1)
    kids = [w for w in tree if w.depth == 2 and top_bar.box.contains_box(w.box) and w.box.width < 120]
    kids.sort(key=lambda w: w.box.x1)
    return [{"id": f"{prefix}/button{i}", "xyxy": [int(v) for v in w.box.as_tuple()], "kind": "button",
             "clickable": True, "text": ""} for i, w in enumerate(kids)]


@contextmanager
def _start(p: Placed, env: dict[str, str], index: int) -> Iterator[tuple[list[dict[str, Any]], Box | None]]:
    """Start one program; yields its elements (root pixels) and its window box."""
    from rpa_vision.testbed.apps import launch_testapp, launch_xt, xcalc_elements, xgc_elements
    from rpa_vision.testbed.xdotool import window_box

    prefix = str(p.options.get("name", f"{p.app}{index}"))
    if p.app == "qt":
        opts = {k: v for k, v in p.options.items() if k in ("page", "scale", "dark", "style", "font_size")}
        with launch_testapp(env, geometry=p.geometry, **opts) as app:
            geo = app.geometry()
            dialog = Box.from_seq(geo["dialog"]["window"]) if geo.get("dialog") else None
            owners = {f"qt/{w['name']}": w["window"] for w in geo["widgets"]}
            els = []
            for e in app.elements():
                if dialog is not None and owners.get(e.id) == "main" and e.box.intersection(dialog) is not None:
                    continue  # hidden under the dialog
                els.append({"id": f"{prefix}/{e.id.split('/', 1)[1]}", "xyxy": [int(v) for v in e.box.as_tuple()],
                            "kind": e.kind, "clickable": e.clickable, "text": e.text})
            yield els, None
        return
    before = _occupied(env)
    args = [p.app, "-geometry", p.geometry]
    if p.options.get("font"):
        args += ["-fn", str(p.options["font"])]
    args += [str(a) for a in p.options.get("args", [])]
    if p.app in ("xcalc", "xgc"):
        font = p.options.get("font")
        with launch_xt(p.app, _WINDOW_NAMES[p.app], env, geometry=p.geometry, font=str(font) if font else None):
            wid = _new_window(env, before, _WINDOW_NAMES[p.app])
            found = xcalc_elements(wid, env) if p.app == "xcalc" else xgc_elements(wid, env)
            els = [{"id": f"{prefix}/{e.id.split('/', 1)[1]}", "xyxy": [int(v) for v in e.box.as_tuple()],
                    "kind": e.kind, "clickable": e.clickable, "text": e.text} for e in found]
            yield els, window_box(wid, env)
        return
    work = Path(tempfile.mkdtemp(prefix="busy-"))
    if p.app == "xedit":  # opened by a relative name: the title shows no folder of this machine
        (work / TEXT_FILE.name).write_bytes(TEXT_FILE.read_bytes())
        args.append(TEXT_FILE.name)
    proc = subprocess.Popen(args, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wid = _new_window(env, before, _WINDOW_NAMES.get(p.app, p.app))
        time.sleep(0.3)
        els = _xedit_elements(wid, env, prefix) if p.app == "xedit" else []
        yield els, window_box(wid, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def capture(layout: Layout) -> tuple[Any, dict[str, Any]]:
    """Run one layout on a fresh Xvfb; returns the screenshot (BGR) and its truth record."""
    from benchmarks.suite.build import grab_stable
    from rpa_vision.testbed.xvfb import Xvfb

    w, h = layout.size
    screen = Box(0, 0, w, h)
    with Xvfb(w, h) as x, ExitStack() as stack:
        subprocess.run(["xsetroot", "-solid", DESKTOP], env=x.env, check=False)
        elements: list[dict[str, Any]] = []
        extents: list[tuple[str, Box]] = []
        for i, p in enumerate(layout.programs):
            els, box = stack.enter_context(_start(p, x.env, i))
            boxes = [Box.from_seq(e["xyxy"]) for e in els] + ([box] if box is not None else [])
            if boxes:
                extents.append((f"{p.app}{i}", Box.union_all(boxes)))
            elements += [e for e in els if screen.contains_box(Box.from_seq(e["xyxy"]))]
        for a in range(len(extents)):
            for b in range(a + 1, len(extents)):
                inter = extents[a][1].intersection(extents[b][1])
                if inter is not None and inter.area > 0:
                    raise RpaVisionError(f"{layout.name}: {extents[a][0]} and {extents[b][0]} overlap at {inter}")
        subprocess.run(["xdotool", "mousemove", str(w - 3), str(h - 3)], env=x.env, check=False)
        time.sleep(1.0)
        image = grab_stable(x.display, timeout=6.0)
    truth = {
        "schema_version": SCHEMA_VERSION, "config": layout.name, "screen_size": [w, h], "scale": 1.0,
        "programs": [{"app": p.app, "geometry": p.geometry, **p.options} for p in layout.programs],
        "windows": {name: [int(v) for v in b.as_tuple()] for name, b in extents},
        "elements": elements,
    }
    return image, truth


def build(out: Path, layouts: Sequence[Layout], attempts: int = 3) -> None:
    index = []
    with atomic_directory(out) as tmp:
        for lay in layouts:
            t0 = time.monotonic()
            for attempt in range(attempts):
                try:
                    image, truth = capture(lay)
                    break
                except RpaVisionError as exc:
                    if attempt == attempts - 1:
                        raise
                    print(f"{lay.name}: retrying after: {exc}", file=sys.stderr)
            ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            if not ok:
                raise RpaVisionError(f"{lay.name}: PNG encoding failed")
            folder = tmp / lay.name
            folder.mkdir()
            atomic_write_bytes(folder / "screen.png", png.tobytes())
            atomic_write_json(folder / "truth.json", truth, indent=1)
            n_click = sum(1 for e in truth["elements"] if e["clickable"])
            index.append({"config": lay.name, "screen_size": list(lay.size), "elements": len(truth["elements"]),
                          "clickable": n_click})
            print(f"{lay.name:12s} {len(truth['elements']):4d} elements ({n_click} clickable) "
                  f"{len(png) / 1024:7.0f} KiB {time.monotonic() - t0:5.1f} s")
        atomic_write_json(tmp / "index.json", {"schema_version": SCHEMA_VERSION, "screens": index}, indent=1)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "data" / "screens")
    p.add_argument("--only", nargs="*", default=None, help="layout names")
    args = p.parse_args(argv)
    layouts = [lay for lay in LAYOUTS if not args.only or lay.name in args.only]
    try:
        build(args.out, layouts)
    except RpaVisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
