"""The application window on a screen, found from pixels: the largest framed rectangle.

A state is a property of the application, not of where its window happens to sit on the
desktop: the state vector is therefore computed from the window rather than the whole screen
(a moved window, another screen size or a different desktop around it leave it unchanged).

Windows are drawn with straight borders: a frame line, a title bar, or at least a change of
colour against the desktop all along their four sides. On a copy of the screen shrunk to about
``WindowConfig.side`` pixels, strong gradients are kept when they are part of long horizontal or
vertical runs (a morphological opening with a long line, which drops text, icons and the texture
of a wallpaper), and the rectangles those lines outline are candidates. A candidate must have
line support along most of each of its four sides and not cover (almost) the whole screen; the
largest one wins, so a dialog inside its main window and group boxes inside a window never do.

A window stands on a desktop: around it there is much less going on than inside it. A panel of
a window that already fills the frame (a maximised window, a screenshot of one window) has the
rest of that window around it, as busy as the panel. A candidate therefore only counts when the
share of colour-step pixels outside it is at most ``WindowConfig.quiet`` times the share inside
it. With no such candidate the whole screen is used (a maximised window, no visible frame, or a
desktop too busy to tell a window apart: the previous whole-screen behaviour).

Only geometry from pixels: which window has the focus cannot be told apart from two unrelated
windows of similar size side by side; the largest framed one is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.perception.pixels import fit_bgr


@dataclass(frozen=True)
class WindowConfig:
    """Settings of the window finder.

    - ``side``: the screen is searched on a copy whose longer side is at most this.
    - ``edge``: a colour step (max over B, G, R of a 1-pixel difference) counts as an edge above this.
    - ``min_line``: shortest border line, as a share of the shrunk screen's shorter side.
    - ``support``: share of each side of a candidate that must lie on a border line.
    - ``max_cover``: a candidate wider AND taller than this share of the screen is the screen.
    - ``quiet``: the most step density outside a candidate, as a share of the density inside.
    """

    side: int = 960
    edge: float = 24.0
    min_line: float = 0.06
    support: float = 0.7
    max_cover: float = 0.97
    quiet: float = 0.2

    def __post_init__(self) -> None:
        if not (isinstance(self.side, int) and 64 <= self.side <= 8192):
            raise ValidationError(f"side must be an int in [64, 8192], got {self.side!r}", field="side")
        for name in ("min_line", "support", "max_cover", "quiet"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v <= 1):
                raise ValidationError(f"{name} must be in (0, 1], got {v!r}", field=name, value=v)
        if not (isinstance(self.edge, (int, float)) and 0 < self.edge < 255):
            raise ValidationError(f"edge must be in (0, 255), got {self.edge!r}", field="edge", value=self.edge)


def colour_steps(small: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """Where a horizontal border (a step between rows) and a vertical one (between columns) runs:
    ``(dy, dx)`` uint8 masks of ``small`` (BGR). Polarity-free: light on dark counts as dark on light."""
    # Steps over two pixels: a border that the shrinking blended into one intermediate row
    # still counts in full (the marks, on both sides of the border, are two pixels thick).
    def steps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        diff = cv2.absdiff(a, b)
        ch = cv2.split(diff)
        m = ch[0]
        for c in ch[1:]:
            m = cv2.max(m, c)
        return (m > thr).astype(np.uint8)

    dy = np.zeros(small.shape[:2], np.uint8)
    dx = np.zeros(small.shape[:2], np.uint8)
    if small.shape[0] >= 3:
        dy[1:-1] = steps(small[2:], small[:-2])
    if small.shape[1] >= 3:
        dx[:, 1:-1] = steps(small[:, 2:], small[:, :-2])
    return dy, dx


def _side_support(lines: np.ndarray, fixed: int, lo: int, hi: int, along_rows: bool) -> float:
    """Share of the segment ``lo..hi`` (on row/column ``fixed``, +-1) covered by ``lines``."""
    if hi <= lo:
        return 0.0
    a = max(0, fixed - 1)
    if along_rows:
        seg = lines[a:fixed + 2, lo:hi].max(axis=0)
    else:
        seg = lines[lo:hi, a:fixed + 2].max(axis=1)
    return float(seg.mean()) if seg.size else 0.0


#: How many of the largest candidates are tested for quiet surroundings.
_TRIED = 4


def _stands_out(steps: np.ndarray, total: float, box: tuple[int, int, int, int], quiet: float) -> bool:
    """Whether the step density outside ``box`` (a 2-pixel ring left out) is at most ``quiet``
    times the density inside it."""
    x1, y1, x2, y2 = box
    h, w = steps.shape
    inner = float(steps[y1:y2 + 1, x1:x2 + 1].sum())
    ax1, ay1, ax2, ay2 = max(0, x1 - 2), max(0, y1 - 2), min(w, x2 + 3), min(h, y2 + 3)
    ring_box = float(steps[ay1:ay2, ax1:ax2].sum())
    out_px = h * w - (ay2 - ay1) * (ax2 - ax1)
    in_px = (y2 - y1 + 1) * (x2 - x1 + 1)
    if in_px <= 0:
        return False
    inside = inner / in_px
    outside = (total - ring_box) / out_px if out_px > 0 else 0.0
    return inside > 0 and outside <= quiet * inside


def shrink(frame: Frame, config: WindowConfig | None = None) -> np.ndarray:
    """The BGR copy of ``frame`` the window is searched on (longer side at most ``config.side``)."""
    cfg = config if config is not None else WindowConfig()
    return fit_bgr(frame.pixels, frame.channels, (cfg.side, cfg.side))


def find_window(frame: Frame, config: WindowConfig | None = None, small: np.ndarray | None = None) -> Box | None:
    """The largest framed rectangle of ``frame`` in its full-resolution pixels, or None.
    ``small``: ``shrink(frame, config)`` when the caller has it already."""
    cfg = config if config is not None else WindowConfig()
    if small is None:
        small = shrink(frame, cfg)
    h, w = small.shape[:2]
    if min(h, w) < 16:
        return None
    fx, fy = frame.width / w, frame.height / h
    n = max(8, int(round(cfg.min_line * min(h, w))))
    dy, dx = colour_steps(small, cfg.edge)
    hl = cv2.morphologyEx(dy, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    vl = cv2.morphologyEx(dx, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    lines = cv2.dilate(cv2.bitwise_or(hl, vl), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(lines, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = sorted((cv2.boundingRect(c) for c in contours), key=lambda r: r[2] * r[3], reverse=True)
    steps = cv2.bitwise_or(dy, dx)
    total = float(steps.sum())
    best: tuple[int, int, int, int] | None = None
    tried = 0
    for x, y, bw, bh in boxes:  # largest first: the first framed one with quiet surroundings wins
        if bw < n or bh < n or (bw >= cfg.max_cover * w and bh >= cfg.max_cover * h):
            continue
        # The outline's corners: the dilated lines grew the box by one pixel on every side.
        x1, y1, x2, y2 = x + 1, y + 1, x + bw - 2, y + bh - 2
        if min(_side_support(hl, y1, x1, x2, True), _side_support(hl, y2, x1, x2, True),
               _side_support(vl, x1, y1, y2, False), _side_support(vl, x2, y1, y2, False)) < cfg.support:
            continue
        if _stands_out(steps, total, (x1, y1, x2, y2), cfg.quiet):
            best = (x1, y1, x2, y2)
            break
        tried += 1
        if tried >= _TRIED:
            break
    if best is None:
        return None
    x1, y1, x2, y2 = best
    # The marks of a border span the last desktop pixel and the window's first (its last and
    # the desktop's first on the far side): the window is [x1 + 1, x2) in shrunk pixels.
    return Box((x1 + 1) * fx, (y1 + 1) * fy, min(frame.width, x2 * fx), min(frame.height, y2 * fy))


def window_frame(frame: Frame, box: Box | None) -> Frame:
    """``frame`` cropped to ``box`` (the whole frame when ``box`` is None)."""
    if box is None:
        return frame
    x1, y1, x2, y2 = box.clip(frame.width, frame.height).as_int_tuple()
    if x2 - x1 < 2 or y2 - y1 < 2:
        return frame
    return Frame.from_array(np.ascontiguousarray(frame.pixels[y1:y2, x1:x2]), frame.channels)
