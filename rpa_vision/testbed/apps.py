"""Launch real applications on a virtual display and read their ground truth.

``launch_xcalc(env, ...)`` and ``launch_testapp(env, ...)`` are context managers that start the
program on the display named in ``env`` (an ``Xvfb().env``), wait for its window (xdotool), and
kill it on exit. The ``RunningApp`` they yield knows its X window id and returns its elements
(boxes in root-window physical pixels): xcalc's from its X window tree (every Athena button is a
child window; the labels follow from the fixed grid), the Qt test application's from its
``--dump-geometry`` file.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.geometry import Box

# xcalc (TI-30 mode) buttons, row by row, as drawn by x11-apps' xcalc.
XCALC_LABELS: tuple[tuple[str, ...], ...] = (
    ("1/x", "x^2", "sqrt", "CE/C", "AC"),
    ("INV", "sin", "cos", "tan", "DRG"),
    ("e", "EE", "log", "ln", "y^x"),
    ("not", "and", "or", "xor", "trunc"),
    ("pi", "x!", "(", ")", "base"),
    ("shl", "D", "E", "F", "shr"),
    ("mod", "A", "B", "C", "/"),
    ("STO", "7", "8", "9", "*"),
    ("RCL", "4", "5", "6", "-"),
    ("SUM", "1", "2", "3", "+"),
    ("EXC", "0", ".", "+/-", "="),
)
TESTAPP_TITLE = "RPA Test App"
_QT_START_ATTEMPTS = 3
_log = logging.getLogger(__name__)


class AppLaunchError(RpaVisionError):
    """An application did not start, or its window or ground truth did not appear."""


@dataclass(frozen=True)
class AppElement:
    """One element of a running application, in root-window physical pixels."""

    id: str  # stable across configurations: "xcalc/r7c1", "qt/btn_save"
    box: Box
    kind: str
    clickable: bool
    text: str = ""


@dataclass
class RunningApp:
    """A started application: its process, X window id and display environment."""

    app: str  # "xcalc" | "xgc" | "qt"
    proc: subprocess.Popen[bytes]
    wid: int
    env: dict[str, str]
    geometry_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def window_box(self) -> Box:
        from rpa_vision.testbed.xdotool import window_box

        return window_box(self.wid, self.env)

    def elements(self) -> list[AppElement]:
        if self.app == "xcalc":
            return xcalc_elements(self.wid, self.env)
        if self.app == "xgc":
            return xgc_elements(self.wid, self.env)
        if self.geometry_file is None:
            raise AppLaunchError("the Qt test app was started without a geometry dump")
        return testapp_elements(read_geometry(self.geometry_file))

    def geometry(self) -> dict[str, Any]:
        """The Qt test app's raw geometry dump (re-read: a later ``refresh_geometry`` updates it)."""
        if self.geometry_file is None:
            raise AppLaunchError("no geometry dump for this application")
        return read_geometry(self.geometry_file)


def _wait_window(
    name: str, env: dict[str, str], proc: subprocess.Popen[bytes], timeout: float, *, stderr_file: Path
) -> int:
    """The window ``name`` of ``proc`` (whose error output goes to ``stderr_file``)."""
    from rpa_vision.testbed.xdotool import XDo, XToolError

    deadline = time.monotonic() + timeout
    xdo = XDo(env)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raw = stderr_file.read_bytes() if stderr_file.exists() else b""
            err = raw.decode(errors="replace").strip()[-1500:]
            raise AppLaunchError(f"{name!r} exited with code {proc.returncode} before showing a window: {err}")
        try:
            return xdo.search(name, timeout=0.5)
        except XToolError:
            continue
    raise AppLaunchError(f"no window {name!r} appeared within {timeout:.0f} s")


def start_and_wait(
    args: Sequence[str], window_name: str, env: dict[str, str], *, timeout: float = 15.0, attempts: int = 2
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``args`` and wait for its window named ``window_name``: ``(process, window id)``.
    When no window shows within ``timeout``, or the program exits first, it is started again
    (``attempts`` times in all): in long test runs xcalc now and then exited with "Can't open
    display" while the display's server was up and serving others (cause not found). The last
    failure is reported with what the program printed (``AppLaunchError``)."""
    last: AppLaunchError | None = None
    for _ in range(max(1, attempts)):
        with tempfile.NamedTemporaryFile(prefix="rpa-app-", suffix=".log", delete=False) as err:
            log_path = Path(err.name)
            try:
                proc = subprocess.Popen(list(args), env=env, stdout=subprocess.DEVNULL, stderr=err)
            except OSError as exc:
                log_path.unlink(missing_ok=True)
                raise AppLaunchError(f"cannot start {args[0]}: {exc}") from exc
        try:
            wid = _wait_window(window_name, env, proc, timeout, stderr_file=log_path)
            return proc, wid
        except AppLaunchError as exc:
            _stop(proc)
            last = exc
        finally:
            log_path.unlink(missing_ok=True)
    assert last is not None
    raise last


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


@contextmanager
def launch_xt(
    program: str,
    window_name: str,
    env: dict[str, str],
    *,
    geometry: str | None = None,
    fg: str | None = None,
    bg: str | None = None,
    font: str | None = None,
    reverse: bool = False,
    xrm: Sequence[str] = (),
    timeout: float = 15.0,
    settle: float = 0.4,
) -> Iterator[RunningApp]:
    """An X toolkit program with the standard options (``-geometry``, ``-fg``, ``-bg``, ``-fn``,
    ``-rv``, ``-xrm``), waited for by its window name; ``RunningApp.app`` is ``program``."""
    args = [program]
    for flag, val in (("-geometry", geometry), ("-fg", fg), ("-bg", bg), ("-fn", font)):
        if val:
            args += [flag, val]
    if reverse:
        args.append("-rv")
    for res in xrm:
        args += ["-xrm", res]
    proc, wid = start_and_wait(args, window_name, env, timeout=timeout, attempts=1)
    try:
        time.sleep(settle)
        yield RunningApp(program, proc, wid, env)
    finally:
        _stop(proc)


def launch_xcalc(env: dict[str, str], **options: Any) -> AbstractContextManager[RunningApp]:
    """xcalc (TI-30 mode) with ``launch_xt``'s options."""
    return launch_xt("xcalc", "Calculator", env, **options)


def launch_xgc(env: dict[str, str], **options: Any) -> AbstractContextManager[RunningApp]:
    """xgc (the X graphics demo: about a hundred Athena toggles, buttons and text fields)."""
    return launch_xt("xgc", "^xgc$", env, **options)


@contextmanager
def launch_testapp(
    env: dict[str, str],
    *,
    scale: float = 1.0,
    dark: bool = False,
    style: str | None = None,
    relayout: bool = False,
    geometry: str | None = None,
    page: int = 1,
    font_size: float | None = None,
    log: str | os.PathLike[str] | None = None,
    slow: float = 0.0,
    python: str = sys.executable,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningApp]:
    """The Qt test application (``python -m ui.testapp``) with ``QT_SCALE_FACTOR=scale``.

    Waits for its window and for its geometry dump; the yielded app's ``elements()`` are the
    named widgets in physical pixels (the dump is rewritten when the Details dialog opens or
    closes). ``slow`` > 0 makes "Details..." and "Next page" take that many seconds (``--slow``).
    ``cwd`` must be a directory from which ``ui`` imports
    (the repository root by default).
    """
    work = Path(tempfile.mkdtemp(prefix="rpa-testapp-"))
    dump = work / "geometry.json"
    args = [python, "-m", "ui.testapp", "--dump-geometry", str(dump), "--page", str(page)]
    if dark:
        args.append("--dark")
    if style:
        args += ["--style", style]
    if relayout:
        args.append("--relayout")
    if geometry:
        args += ["--geometry", geometry]
    if font_size:
        args += ["--font-size", str(font_size)]
    if log is not None:
        args += ["--log", os.fspath(log)]
    if slow:
        args += ["--slow", f"{slow:g}"]
    child_env = dict(env)
    child_env.pop("QT_QPA_PLATFORM", None)  # a real X display, not offscreen
    child_env["QT_SCALE_FACTOR"] = f"{scale:g}"
    # Keep the xcb platform's own warnings: they are what explains a failed start.
    child_env.setdefault("QT_LOGGING_RULES", "*.debug=false")
    root = Path(cwd) if cwd is not None else Path(__file__).resolve().parents[2]
    proc: subprocess.Popen[bytes] | None = None
    try:
        wid = 0
        for attempt in range(_QT_START_ATTEMPTS):
            dump.unlink(missing_ok=True)
            err_path = work / f"stderr-{attempt}.log"
            try:
                with err_path.open("wb") as err_file:  # a file, not a pipe nobody drains
                    proc = subprocess.Popen(args, env=child_env, cwd=root, stdout=subprocess.DEVNULL, stderr=err_file)
            except OSError as exc:
                raise AppLaunchError(f"cannot start the Qt test app: {exc}") from exc
            try:
                wid = _wait_window(TESTAPP_TITLE, env, proc, timeout, stderr_file=err_path)
                break
            except AppLaunchError as exc:
                # A Qt start that aborts while connecting to the X server (seen rarely under heavy
                # load) is retried; a window that never appears is not.
                if proc.poll() is None or attempt + 1 == _QT_START_ATTEMPTS:
                    raise
                _log.warning("Qt test app start failed (attempt %d), retrying: %s", attempt + 1, exc)
                _stop(proc)
                time.sleep(0.5)
        assert proc is not None
        deadline = time.monotonic() + timeout
        while not dump.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AppLaunchError("the Qt test app did not write its geometry dump")
            time.sleep(0.05)
        time.sleep(0.2)
        yield RunningApp("qt", proc, wid, env, geometry_file=dump, extra={"scale": scale})
    finally:
        if proc is not None:
            _stop(proc)
        for p in work.iterdir():
            p.unlink(missing_ok=True)
        work.rmdir()


def read_geometry(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AppLaunchError(f"cannot read the geometry dump {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise AppLaunchError(f"unexpected geometry dump format in {path}")
    return data


def testapp_elements(geometry: dict[str, Any]) -> list[AppElement]:
    out = []
    for w in geometry["widgets"]:
        x1, y1, x2, y2 = w["xyxy"]
        if x2 <= x1 or y2 <= y1:
            continue
        out.append(AppElement(f"qt/{w['name']}", Box(x1, y1, x2, y2), w["kind"], bool(w["clickable"]), w["text"]))
    return out


def _clusters(values: list[float], tol: float) -> list[float]:
    centers: list[float] = []
    for v in sorted(values):
        if not centers or v - centers[-1] > tol:
            centers.append(v)
    return centers


def xcalc_elements(wid: int, env: dict[str, str]) -> list[AppElement]:
    """xcalc's buttons (child windows of its form) labelled by grid row/column, plus the display."""
    from rpa_vision.testbed.xdotool import window_box, window_tree

    top = window_box(wid, env)
    kids = [w.box for w in window_tree(wid, env) if w.depth == 1 and w.box.height < 0.5 * top.height]
    if not kids:
        raise AppLaunchError("xcalc shows no buttons")
    typical = sorted(b.height for b in kids)[len(kids) // 2]
    buttons = [b for b in kids if b.height <= 1.3 * typical]
    others = [b for b in kids if b.height > 1.3 * typical]
    h = min(b.height for b in buttons)
    w = min(b.width for b in buttons)
    rows = _clusters([b.y1 for b in buttons], h / 2)
    cols = _clusters([b.x1 for b in buttons], w / 2)
    grid_ok = len(rows) == len(XCALC_LABELS) and len(cols) == len(XCALC_LABELS[0])
    out = []
    for b in buttons:
        r = min(range(len(rows)), key=lambda i: abs(rows[i] - b.y1))
        c = min(range(len(cols)), key=lambda i: abs(cols[i] - b.x1))
        label = XCALC_LABELS[r][c] if grid_ok else ""
        out.append(AppElement(f"xcalc/r{r}c{c}", b, "button", True, label))
    for i, b in enumerate(sorted(others, key=lambda bb: bb.y1)):
        out.append(AppElement("xcalc/display" if i == 0 else f"xcalc/panel{i}", b, "display", False, ""))
    out.sort(key=lambda e: (e.box.y1, e.box.x1))
    return out


def _tree_paths(depths: Sequence[int]) -> tuple[list[str], list[int | None], list[int]]:
    """Per window of a pre-order tree listing: its child-index path ("2.0.5"), its parent's
    position in the listing and how many children it has."""
    paths: list[str] = []
    parents: list[int | None] = []
    children = [0] * len(depths)
    stack: list[int] = []  # positions of the open ancestors
    for i, d in enumerate(depths):
        while stack and depths[stack[-1]] >= d:
            stack.pop()
        parent = stack[-1] if stack else None
        if parent is None:
            paths.append("")
        else:
            idx = children[parent]
            children[parent] += 1
            paths.append(f"{paths[parent]}.{idx}".lstrip("."))
        parents.append(parent)
        stack.append(i)
    return paths, parents, children


def xgc_elements(wid: int, env: dict[str, str]) -> list[AppElement]:
    """xgc's widgets from its X window tree: every leaf window is one widget.

    Ids are child-index paths below the top form (``xgc/0.0.3``): the widget tree is the same
    whatever the geometry, font or colours, so the id of a widget is too. The first child of a
    row of choices (``Function``, ``LineStyle``...) is its label (not clickable); 10-pixel
    squares are plane-mask and dash-list bits (flat squares told apart only by their place in
    the row: elements, but not marked clickable, so not locate targets); the two large leaves
    are the drawing area and the result text (panels, not clickable); everything else is a
    toggle, button or text field.
    """
    from rpa_vision.testbed.xdotool import window_box, window_tree

    top = window_box(wid, env)
    wins = window_tree(wid, env)  # depth 0: the top form, the root of every path
    if len(wins) < 2:
        raise AppLaunchError("xgc shows no widgets")
    paths, parents, children = _tree_paths([w.depth for w in wins])
    out = []
    for i, w in enumerate(wins):
        if w.depth == 0 or children[i] or not top.contains_box(w.box) or w.box.width < 6 or w.box.height < 6:
            continue
        parent = parents[i]
        first_of_row = (
            parent is not None and w.depth >= 3 and children[parent] >= 2
            and paths[i].endswith(".0")
        )
        if w.box.width >= 200 and w.box.height >= 40:
            kind, clickable = "panel", False
        elif first_of_row:
            kind, clickable = "label", False
        elif max(w.box.width, w.box.height) <= 16:
            kind, clickable = "bit", False  # flat squares in a row: no look of their own to find
        elif w.box.height <= 12:
            kind, clickable = "scrollbar", True
        else:
            kind, clickable = "button", True
        out.append(AppElement(f"xgc/{paths[i]}", w.box, kind, clickable, ""))
    out.sort(key=lambda e: (e.box.y1, e.box.x1))
    return out
