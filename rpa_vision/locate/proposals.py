"""Candidate generation: multi-scale template peaks, contour regions and predicted positions.

Every proposal is a ``Proposal(box, source, prior, scale)`` in full screen pixels; ``prior`` is
the evidence that produced it (a correlation for template peaks) and is replaced by the exact
appearance score later. Nothing here decides; it only has to put the right box in the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.geometry import Box
from rpa_vision.locate.features import gradient, resize_to

#: Screen shrink factors the coarse search may use (so the shrunk screens can be cached).
LEVELS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.35, 0.25, 0.2, 0.15, 0.1)
_MAX_PEAKS = 80


@dataclass(frozen=True, slots=True)
class Proposal:
    box: Box
    source: str  # "template", "contour", "roi", "predicted"
    prior: float
    scale: float


class ScreenPyramid:
    """The screen's gradient at shrunk sizes, computed on demand and kept for reuse.

    A shrunk level is the full-resolution gradient pooled (area-averaged), not the gradient of a
    shrunk screen: thin strokes (1 px text, borders) keep their edge energy when pooled, while
    shrinking the pixels first blurs them away and small elements stop being told apart."""

    def __init__(self, gray: np.ndarray) -> None:
        self.gray = gray
        self._grad: dict[float, np.ndarray] = {}

    def grad(self, level: float) -> np.ndarray:
        g = self._grad.get(level)
        if g is None:
            g = gradient(self.gray) if level == 1.0 else pooled(self.grad(1.0), level)
            self._grad[level] = g
        return g


def pooled(grad: np.ndarray, level: float) -> np.ndarray:
    """A gradient map shrunk by ``level`` with area averaging (see ``ScreenPyramid``)."""
    if level == 1.0:
        return grad
    h, w = grad.shape[:2]
    return resize_to(grad, w * level, h * level)


def scaled_template(t_gray: np.ndarray, w: float, h: float, level: float) -> np.ndarray:
    """The template's gradient at size ``w x h`` (screen pixels), pooled like the screen's level."""
    g = gradient(resize_to(t_gray, w, h))
    return pooled(g, level)


def match(screen: np.ndarray, tmpl: np.ndarray) -> np.ndarray:
    """``TM_CCOEFF_NORMED`` response of gradient maps, 0 where the screen window is blank (all
    zero gradient): there the normalisation divides by ~0 and OpenCV answers up to 1."""
    resp = cv2.matchTemplate(screen, tmpl, cv2.TM_CCOEFF_NORMED)
    np.nan_to_num(resp, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    th, tw = tmpl.shape[:2]
    ii = cv2.integral(screen, sdepth=cv2.CV_64F)
    total = ii[th:, tw:] - ii[:-th, tw:] - ii[th:, :-tw] + ii[:-th, :-tw]
    eps = 1e-3 * float(tmpl.mean()) * tw * th
    resp[total[: resp.shape[0], : resp.shape[1]] <= eps] = 0.0
    return resp


def nms(boxes: Sequence[Box], scores: Sequence[float], iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best first."""
    n = len(boxes)
    if n == 0:
        return []
    b = np.array([bx.as_tuple() for bx in boxes], np.float64)
    area = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    alive = np.ones(n, bool)
    keep: list[int] = []
    for i in order:
        if not alive[i]:
            continue
        keep.append(int(i))
        ix1 = np.maximum(b[i, 0], b[:, 0])
        iy1 = np.maximum(b[i, 1], b[:, 1])
        ix2 = np.minimum(b[i, 2], b[:, 2])
        iy2 = np.minimum(b[i, 3], b[:, 3])
        inter = np.maximum(ix2 - ix1, 0) * np.maximum(iy2 - iy1, 0)
        union = area[i] + area - inter
        ov = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        alive &= ov < iou
    return keep


def pick_level(min_side_px: float, min_side: int, min_factor: float, max_factor: float = 1.0) -> float:
    """The smallest cached shrink factor that keeps the template's short side >= ``min_side``
    (but at most ``max_factor``: the coarse search never needs the full resolution)."""
    want = min(max_factor, max(min_factor, min_side / max(min_side_px, 1e-6)))
    ok = [lv for lv in LEVELS if lv >= want - 1e-9]
    return min(ok) if ok else 1.0


def local_peaks(resp: np.ndarray, threshold: float, count: int, win_w: int, win_h: int) -> list[tuple[int, int, float]]:
    """Up to ``count`` local maxima ``(x, y, value)`` of a response map above ``threshold``."""
    if resp.size == 0:
        return []
    kw, kh = max(3, win_w | 1), max(3, win_h | 1)
    dil = cv2.dilate(resp, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, kh)))
    ys, xs = np.nonzero((resp >= dil) & (resp >= threshold))
    if ys.size == 0:
        return []
    vals = resp[ys, xs]
    order = np.argsort(-vals)[:count]
    return [(int(xs[i]), int(ys[i]), float(vals[i])) for i in order]


def template_proposals(
    pyramid: ScreenPyramid,
    t_gray: np.ndarray,
    scales: Sequence[float],
    *,
    min_side: int,
    min_factor: float,
    max_factor: float,
    threshold: float,
    per_scale: int,
    area: Box | None = None,
) -> list[Proposal]:
    """Peaks of gradient template matching at each scale, on a shrunk screen (coarse positions);
    only inside ``area`` (screen pixels) when given."""
    th, tw = t_gray.shape[:2]
    sh, sw = pyramid.gray.shape[:2]
    out: list[Proposal] = []
    ax1, ay1, ax2, ay2 = (0, 0, sw, sh) if area is None else area.clip(sw, sh).as_int_tuple()
    for s in scales:
        w_s, h_s = tw * s, th * s
        if w_s < 4 or h_s < 4 or w_s >= sw or h_s >= sh:
            continue
        lv = pick_level(min(w_s, h_s), min_side, min_factor, max_factor)
        if min(w_s, h_s) * lv < 5:
            continue  # too small to say anything at this level
        screen = pyramid.grad(lv)
        ox, oy = int(ax1 * lv), int(ay1 * lv)  # the searched part of this level
        screen = screen[oy : int(np.ceil(ay2 * lv)), ox : int(np.ceil(ax2 * lv))]
        tmpl = scaled_template(t_gray, w_s, h_s, lv)
        if tmpl.shape[0] >= screen.shape[0] or tmpl.shape[1] >= screen.shape[1] or min(tmpl.shape[:2]) < 3:
            continue
        if float(tmpl.std()) < 1e-3:
            continue  # a flat template has no peaks
        resp = match(screen, tmpl)
        peaks = [(x + ox, y + oy, v) for x, y, v in
                 local_peaks(resp, threshold, _MAX_PEAKS, tmpl.shape[1] // 2, tmpl.shape[0] // 2)]
        if peaks:
            # all strong look-alikes (a keypad has dozens), at least the ``per_scale`` best
            strong = 0.85 * peaks[0][2]
            peaks = [p for i, p in enumerate(peaks) if i < per_scale or p[2] >= strong]
        if lv < 1.0 and peaks:
            full = pyramid.grad(1.0)
            tfull = scaled_template(t_gray, w_s, h_s, 1.0)
            r = int(np.ceil(1.0 / lv)) + 1
            for x, y, v in peaks:
                out.append(_snap(full, tfull, x / lv, y / lv, r, v, s))
        else:
            for x, y, v in peaks:
                out.append(Proposal(Box(x, y, x + w_s, y + h_s), "template", v, s))
    return out


def _snap(full: np.ndarray, tmpl: np.ndarray, x: float, y: float, r: int, v: float, s: float) -> Proposal:
    """A coarse peak moved to the best full-resolution position within ``r`` pixels (a shrunk
    level only knows positions to a few pixels, and a small element scored a few pixels off looks
    like a poor match)."""
    th, tw = tmpl.shape[:2]
    x0, y0 = int(round(x)) - r, int(round(y)) - r
    H, W = full.shape[:2]
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(W, x0 + tw + 2 * r), min(H, y0 + th + 2 * r)
    if sx1 - sx0 >= tw and sy1 - sy0 >= th:
        resp = cv2.matchTemplate(full[sy0:sy1, sx0:sx1], tmpl, cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(resp)
        if np.isfinite(best):
            bx, by = sx0 + loc[0], sy0 + loc[1]
            return Proposal(Box(bx, by, bx + tw, by + th), "template", float(best), s)
    return Proposal(Box(x, y, x + tw, y + th), "template", v, s)


def contour_proposals(
    gray: np.ndarray, target_wh: tuple[float, float], scales: Sequence[float], limit: int = 60,
    area: Box | None = None,
) -> list[Proposal]:
    """Closed shapes (boxes of edge contours) whose size fits the target at one of the scales
    (centred inside ``area`` when given)."""
    h, w = gray.shape[:2]
    lv = 0.5 if max(h, w) > 1400 else 1.0
    small = gray if lv == 1.0 else resize_to(gray, w * lv, h * lv)
    edges = cv2.Canny(small, 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    tw, th = target_wh
    lo, hi = min(scales), max(scales)
    t_aspect = tw / max(th, 1e-6)
    scored: list[tuple[float, Proposal]] = []
    for c in contours:
        x, y, cw, ch = cv2.boundingRect(c)
        bw, bh = cw / lv, ch / lv
        s = float(np.sqrt(bw * bh / max(tw * th, 1e-6)))
        if not (lo * 0.8 <= s <= hi * 1.25):
            continue
        da = abs(np.log((bw / max(bh, 1e-6)) / t_aspect))
        if da > np.log(2.5):
            continue
        box = Box(x / lv, y / lv, (x + cw) / lv, (y + ch) / lv)
        if area is not None and not area.contains(box.center):
            continue
        scored.append((float(da), Proposal(box, "contour", 0.0, s)))
    scored.sort(key=lambda t: t[0])
    return [p for _, p in scored[:limit]]


def roi_proposals(
    propose: Callable[[], Sequence[object]], target_wh: tuple[float, float], scales: Sequence[float], limit: int = 60,
    area: Box | None = None,
) -> list[Proposal]:
    """Regions of the ROI optimizer (objects with ``.box`` or boxes) whose size fits the target
    (centred inside ``area`` when given)."""
    tw, th = target_wh
    lo, hi = min(scales), max(scales)
    t_aspect = tw / max(th, 1e-6)
    scored: list[tuple[float, Proposal]] = []
    for r in propose():
        b = r if isinstance(r, Box) else getattr(r, "box", None)
        if not isinstance(b, Box) or b.area <= 0 or (area is not None and not area.contains(b.center)):
            continue
        s = float(np.sqrt(b.area / max(tw * th, 1e-6)))
        if not (lo * 0.8 <= s <= hi * 1.25):
            continue
        da = abs(float(np.log(b.aspect / t_aspect)))
        if da > np.log(2.5):
            continue
        scored.append((da, Proposal(b, "roi", 0.0, s)))
    scored.sort(key=lambda t: t[0])
    return [p for _, p in scored[:limit]]
