"""Where the recorded window (or the recorded surroundings) is on the current screen.

The window's whole gradient picture, pooled small, is matched over the screen at the searched
scales (the unchanged scale first: a moved or re-themed window ends the search there), then at a
few unequal width/height stretches around the best one. When no uniform scale fits well, a
recorded window may have been resized unevenly (xcalc's keys grow 1.33 wide and 1.42 high while
their labels keep their size); a grid of widgets correlates only within a few percent of the
right scale per axis, so each axis is then scanned finely on its own and refined. The fit maps a point of the reference
window to the screen: an element keeps its place relative to its window when the window moves,
is rescaled, re-themed, gets another font or is resized, so the fit predicts where the target
should be. A re-laid-out window still fits, but its moved element is not where predicted; the
prediction is therefore one soft signal among the others, never a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.geometry import Box, Point
from rpa_vision.locate.proposals import LEVELS, ScreenPyramid, match, pooled

#: The window picture is matched with its long side about this many pixels.
_SIDE = 80
#: ... on a screen shrunk to about this long side (the fit runs at every locate: keep it cheap).
_SCREEN = 320
_MIN_SIDE = 40
#: Width/height stretches tried around the best uniform scale.
_STRETCH = (0.8, 0.9, 1.0, 1.12, 1.3)
#: A uniform fit this good ends the search (most replays: same scale, window moved at most).
SURE = 0.9
#: A uniform fit at least this good is only tried with a few stretches around it.
_GOOD = 0.8
#: Ratio between neighbouring scales of the per-axis scan of a poor fit, and its refinement.
_AXIS_STEP = 1.04
#: ... scanned first at twice that step, then at ``_AXIS_STEP`` on each side of the best.
_AXIS_COARSE = _AXIS_STEP**2
_REFINE = (0.98, 1.02, 0.99, 1.01)
#: Stretches around the best placement are searched this fraction of the window's size around it.
_NEAR = 0.25
#: A fit at least this good bounds the template search (see ``search_area``).
AREA_MIN = 0.7
#: Below this correlation the window is considered not found.
MIN_CORR = 0.55


@dataclass(frozen=True)
class WindowFit:
    """The recorded region ``ref`` found at ``box`` on the screen (``sx``, ``sy``: its stretch)."""

    ref: Box
    box: Box
    sx: float
    sy: float
    corr: float

    def map(self, p: Point) -> Point:
        return Point(self.box.x1 + (p.x - self.ref.x1) * self.sx, self.box.y1 + (p.y - self.ref.y1) * self.sy)

    def map_box(self, b: Box) -> Box:
        a, c = self.map(Point(b.x1, b.y1)), self.map(Point(b.x2, b.y2))
        return Box(a.x, a.y, c.x, c.y)


def search_area(fit: WindowFit | None, target_wh: tuple[float, float], screen_wh: tuple[int, int]) -> Box | None:
    """Where a template search for a target of this window needs to look: the fitted window
    with a margin (a wider one when the fit is good but not sure), when the window was found
    (correlation >= ``AREA_MIN``); ``None`` (the whole screen) otherwise. An element lives in its
    window: once the window is found, searching the rest of a 1080p screen only finds
    look-alikes in other windows and costs most of a locate."""
    if fit is None or fit.corr < AREA_MIN:
        return None
    b = fit.box
    s = float(np.sqrt(fit.sx * fit.sy))
    m = max(24.0, (0.15 if fit.corr >= SURE else 0.35) * max(b.width, b.height), 2.0 * max(target_wh) * s)
    area = b.expand(m).clip(*screen_wh)
    return area if area.area < 0.8 * screen_wh[0] * screen_wh[1] else None


def surroundings(target_box: Box, window_box: Box | None, ref_wh: tuple[int, int]) -> Box | None:
    """The reference region to fit: the recorded window when known (and sensible), else a region
    around the target of a few times its size (at least 240 px a side), inside the reference."""
    w, h = ref_wh
    whole = Box(0, 0, w, h)
    if window_box is not None:
        r = window_box.clip(w, h)
        if r.width >= 24 and r.height >= 24 and r.contains(target_box.center) and r.area < 0.9 * whole.area:
            return r
    m = max(120.0, 3.0 * max(target_box.width, target_box.height))
    r = target_box.expand(m).clip(w, h)
    if r.width < 24 or r.height < 24:
        return None
    return r


def fit_window(
    patch: np.ndarray, region: Box, pyramid: ScreenPyramid, scales: Sequence[float], *, uneven: bool = True
) -> WindowFit | None:
    """Best placement of ``region`` of the reference (``patch``: the reference's full-resolution
    gradient inside ``region``, e.g. ``LazyGradient.crop(region)``) on the screen, over ``scales``
    and stretches around the best; ``None`` below ``MIN_CORR``.
    ``uneven``: when the uniform fit is poor, scan each axis's scale on its own (for a recorded
    window, which a resize stretches unevenly; ~25 ms more, so not for mere surroundings)."""
    if patch.size == 0 or float(patch.std()) < 1e-3:
        return None
    rw, rh = patch.shape[1], patch.shape[0]
    sh, sw = pyramid.gray.shape[:2]

    shrunk: dict[float, np.ndarray] = {}

    def try_scale(sx: float, sy: float, near: Box | None = None) -> tuple[float, Box] | None:
        """The best placement at stretch ``(sx, sy)``; only around ``near`` (the best placement
        so far, whose top-left corner a stretch keeps) when given."""
        long_side = max(rw * sx, rh * sy)
        # the window picture about _SIDE px long, the screen at most _SCREEN px long, but never a
        # window picture under _MIN_SIDE px
        want = max(min(_SIDE / long_side, _SCREEN / max(sw, sh)), _MIN_SIDE / long_side)
        ok = [lv for lv in LEVELS if lv >= want - 1e-9]
        lv = min(ok) if ok else 1.0
        tw, th = int(round(rw * sx * lv)), int(round(rh * sy * lv))
        screen = pyramid.grad(lv)
        if tw < 8 or th < 8 or tw >= screen.shape[1] or th >= screen.shape[0]:
            return None
        small = shrunk.get(lv)
        if small is None:  # the window picture pooled once per level, then only fine-resized
            small = shrunk[lv] = pooled(patch, min(1.0, 1.5 * lv))
        tmpl = cv2.resize(small, (tw, th), interpolation=cv2.INTER_AREA)
        if float(tmpl.std()) < 1e-4:
            return None
        ox = oy = 0
        if near is not None:
            m = max(24.0, _NEAR * max(rw * sx, rh * sy))
            x1, y1 = max(0, int((near.x1 - m) * lv)), max(0, int((near.y1 - m) * lv))
            x2 = int(np.ceil((max(near.x2, near.x1 + rw * sx) + m) * lv))
            y2 = int(np.ceil((max(near.y2, near.y1 + rh * sy) + m) * lv))
            screen, ox, oy = screen[y1:y2, x1:x2], x1, y1
            if tw >= screen.shape[1] or th >= screen.shape[0]:
                return None
        resp = match(screen, tmpl)
        _, v, _, loc = cv2.minMaxLoc(resp)
        bx, by = (loc[0] + ox) / lv, (loc[1] + oy) / lv
        return float(v), Box(bx, by, bx + rw * sx, by + rh * sy)

    best: tuple[float, Box, float, float] | None = None
    ladder = sorted(scales)
    tried: set[float] = set()
    for s in sorted(scales, key=lambda s: abs(np.log(s))):  # the unchanged scale first
        if best is not None and best[0] >= _GOOD:
            i = ladder.index(best[2])  # a good fit whose neighbouring scales both fit worse is the peak
            if all(ladder[j] in tried for j in (i - 1, i + 1) if 0 <= j < len(ladder)):
                break
        tried.add(s)
        if rw * s >= sw or rh * s >= sh:
            continue
        # once a scale fits well, the others are only tried around its placement
        got = try_scale(s, s, best[1] if best is not None and best[0] >= _GOOD else None)
        if got is not None and (best is None or got[0] > best[0]):
            best = (got[0], got[1], s, s)
            if best[0] >= SURE:  # the window as it was (moved, re-themed): nothing to search
                return WindowFit(region, best[1], s, s, best[0])
    if best is None:
        return None
    lo, hi = 0.9 * min(scales), 1.1 * max(scales)

    def better(cur: tuple[float, Box, float, float], sx: float, sy: float,
               near: bool = False) -> tuple[float, Box, float, float]:
        if not (lo <= sx <= hi and lo <= sy <= hi):
            return cur
        got = try_scale(sx, sy, cur[1] if near else None)
        return (got[0], got[1], sx, sy) if got is not None and got[0] > cur[0] else cur

    if best[0] >= _GOOD or not uneven:
        near = best[0] >= _GOOD  # a good placement: a stretch of it lies around it
        for axis in (0, 1):  # width stretch, then height stretch, around the best so far
            base = best
            for f in _STRETCH:
                if f != 1.0:
                    best = (better(best, base[2] * f, base[3], near) if axis == 0
                            else better(best, base[2], base[3] * f, near))
        v, box, sx, sy = best
        return WindowFit(region, box, sx, sy, v) if v >= MIN_CORR else None
    # A poor uniform fit: the window may be stretched unevenly (a resized window whose widgets
    # grow with it). Its rows line up when its height scale is right whatever its width scale
    # (and its columns conversely), so each axis is scanned finely on its own, then refined.
    grid = [lo * _AXIS_COARSE**i for i in range(int(np.log(hi / lo) / np.log(_AXIS_COARSE)) + 1)]
    for axis in (1, 0):
        base = best
        for g in grid:
            best = better(best, base[2], g) if axis == 1 else better(best, g, base[3])
        top = best[2] if axis == 0 else best[3]
        for g in (top / _AXIS_STEP, top * _AXIS_STEP):  # between the coarse steps around the best
            best = better(best, base[2], g) if axis == 1 else better(best, g, base[3])
    for f in _REFINE:  # a few percent around the scanned best: around its placement
        base = best
        best = better(best, base[2], base[3] * f, near=True)
        best = better(best, base[2] * f, best[3], near=True)
    v, box, sx, sy = best
    if v < MIN_CORR:
        return None
    return WindowFit(region, box, sx, sy, v)
