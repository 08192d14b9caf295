"""A thin wrapper over xdotool and xwininfo for driving and inspecting real X11 applications."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.geometry import Box


class XToolError(RpaVisionError):
    """xdotool/xwininfo failed or is missing."""


def _run(args: list[str], env: dict[str, str], timeout: float = 10.0) -> str:
    if shutil.which(args[0]) is None:
        raise XToolError(f"{args[0]} is not installed (apt-get install xdotool x11-utils)")
    try:
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise XToolError(f"{' '.join(args)} timed out") from exc
    if r.returncode != 0:
        raise XToolError(f"{' '.join(args)} failed: {r.stderr.strip()[:200]}")
    return r.stdout


@dataclass
class XDo:
    """xdotool bound to one display (``env`` carries ``DISPLAY``)."""

    env: dict[str, str]

    def run(self, *args: str) -> str:
        return _run(["xdotool", *args], self.env)

    def search(self, name: str, *, timeout: float = 10.0, by: str = "--name") -> int:
        """The first window whose name (or ``--class``) matches; waits up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                out = _run(["xdotool", "search", "--onlyvisible", by, name], self.env)
                ids = [int(x) for x in out.split()]
                if ids:
                    return ids[0]
            except XToolError:
                pass
            if time.monotonic() > deadline:
                raise XToolError(f"no visible window matching {name!r}")
            time.sleep(0.1)

    def move_window(self, wid: int, x: int, y: int) -> None:
        self.run("windowmove", "--sync", str(wid), str(x), str(y))

    def resize_window(self, wid: int, w: int, h: int) -> None:
        self.run("windowsize", "--sync", str(wid), str(w), str(h))

    def click(self, x: int, y: int, button: int = 1, repeat: int = 1) -> None:
        self.run("mousemove", "--sync", str(x), str(y))
        self.run("click", "--repeat", str(repeat), "--delay", "60", str(button))

    def mouse_move(self, x: int, y: int) -> None:
        self.run("mousemove", "--sync", str(x), str(y))

    def type(self, text: str, delay_ms: int = 30) -> None:
        self.run("type", "--delay", str(delay_ms), text)

    def key(self, *keys: str) -> None:
        self.run("key", *keys)

    def geometry(self, wid: int) -> Box:
        """The window's box in root coordinates (from xwininfo)."""
        return window_box(wid, self.env)


_ABS = re.compile(
    r"Absolute upper-left X:\s+(-?\d+).*?Absolute upper-left Y:\s+(-?\d+).*?Width:\s+(\d+).*?Height:\s+(\d+)", re.S
)


def window_box(wid: int, env: dict[str, str]) -> Box:
    out = _run(["xwininfo", "-id", str(wid)], env)
    m = _ABS.search(out)
    if not m:
        raise XToolError(f"cannot parse xwininfo output for window {wid}")
    x, y, w, h = (int(g) for g in m.groups())
    return Box.from_xywh(x, y, w, h)


@dataclass(frozen=True)
class XWindow:
    wid: int
    name: str
    box: Box  # root (absolute) coordinates
    depth: int  # nesting level in the tree below the queried window


_TREE_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<wid>0x[0-9a-f]+) (?P<name>\(has no name\)|\".*?\")?.*?"
    r"(?P<w>\d+)x(?P<h>\d+)\+(?P<rx>-?\d+)\+(?P<ry>-?\d+)\s+\+(?P<ax>-?\d+)\+(?P<ay>-?\d+)\s*$"
)


def window_tree(wid: int, env: dict[str, str]) -> list[XWindow]:
    """Every descendant window of ``wid`` with its absolute box (``xwininfo -tree``).

    Athena/Xt applications such as xcalc make each button its own X window, so this is
    ground truth for their widgets.
    """
    out = _run(["xwininfo", "-tree", "-id", str(wid)], env)
    wins: list[XWindow] = []
    base_indent: int | None = None
    for line in out.splitlines():
        m = _TREE_LINE.match(line)
        if not m:
            continue
        indent = len(m.group("indent"))
        if base_indent is None:
            base_indent = indent
        name = m.group("name") or ""
        name = "" if name == "(has no name)" else name.strip('"')
        box = Box.from_xywh(int(m.group("ax")), int(m.group("ay")), int(m.group("w")), int(m.group("h")))
        wins.append(XWindow(int(m.group("wid"), 16), name, box, (indent - base_indent) // 3))
    return wins
