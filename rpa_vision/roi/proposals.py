"""Candidate boxes on a (working-resolution) gray image.

Sources, all from one edge map (the 2x2 morphological gradient above a threshold; areas dense
with edges like photos or noise have their tiny holes closed first):

- ``OUTER``: outer contours of edge components: bordered widgets (the border ring is one
  component), icons, isolated glyphs.
- ``HOLE``: holes of edge components: what a border encloses (a button's face, a text field,
  a panel), even when neighbouring borders touch.
- ``WORD`` / ``LINE``: edge components after a horizontal dilation at two levels, on the edge
  map without long straight runs (borders, scrollbars): glyphs grouped into words, words into
  text lines and small clusters (check box + label, icon + label).
- ``MSER`` (optional): maximally stable blobs of text size, grouped into lines.
- ``FLAT``: flat widgets (tool buttons, tabs, menu titles, borderless buttons) draw only their
  icon or label; the box the toolkit clicks on is that content plus padding. Words, lines and
  icons that no closed outline encloses closely get two padded boxes (a little and a text
  height of padding), and text lines in a list box a row as wide as the box. They are
  hypotheses for recall: ``region_at`` looks at them last.

Everything here works in the pixels of the image it is given; the ``Limits`` come from the whole
working image (the image may be a crop of it in incremental mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rpa_vision.roi.config import ROIConfig

OUTER, HOLE, WORD, LINE, MSER, FLAT = 0, 1, 2, 3, 4, 5
_PRIOR = np.array([0.5, 0.6, 0.45, 0.35, 0.5, 0.3], np.float32)
#: Padding of the flat-widget boxes, in content heights: (x, y) per variant.
FLAT_PADS = ((0.35, 0.3), (1.1, 0.75))
FLAT_SCORE = 0.12
_K2 = np.ones((2, 2), np.uint8)
_K3x3 = np.ones((3, 3), np.uint8)
#: Cells (working pixels) and edge density above which an area counts as texture, not GUI
#: (GUIs stay below ~0.5 in 32 px cells, photos and noise reach 0.6-1.0; small dense text also
#: reaches ~0.7, and closing its 1-2 px gaps keeps its words and lines apart).
TEXTURE_CELL = 32
TEXTURE_DENSITY = 0.55
#: At most this many candidates are scored (before non-maximum suppression).
MAX_CANDIDATES = 8000


@dataclass(frozen=True)
class Limits:
    """Size limits in working pixels.

    Box size bounds are fractions of the frame (they scale with it); text, glyph and icon sizes
    and grouping gaps follow the size of text on screen, i.e. logical points: ``px_per_pt`` is
    the monitor's scale factor times the working image's scale (0.5 for a 4K frame at 100 %,
    1.0 for the same frame at 200 %).
    """

    min_w: float
    min_h: float
    max_w: float
    max_h: float
    text_max_h: float
    glyph_max_h: float
    icon_max: float
    container_min_area: float
    word_gap: int
    line_gap: int

    @classmethod
    def of(cls, cfg: ROIConfig, ref_wh: tuple[int, int], px_per_pt: float = 1.0) -> Limits:
        w, h = ref_wh
        k = max(0.1, float(px_per_pt))
        return cls(
            min_w=max(3.0, cfg.min_box_frac[0] * w),
            min_h=max(3.0, cfg.min_box_frac[1] * h),
            max_w=cfg.max_box_frac[0] * w,
            max_h=cfg.max_box_frac[1] * h,
            text_max_h=max(8.0, 36.0 * k),
            glyph_max_h=max(6.0, 17.0 * k),
            icon_max=max(10.0, 38.0 * k),
            container_min_area=0.03 * w * h,
            word_gap=max(3, int(round(5.0 * k))) | 1,
            line_gap=max(5, int(round(11.0 * k))) | 1,
        )


@dataclass
class Candidates:
    """Boxes (N, 4) xyxy float32 with their source, score and features."""

    boxes: np.ndarray
    source: np.ndarray  # int8, one of OUTER..MSER
    score: np.ndarray  # float32 in [0, 1]
    border: np.ndarray  # float32: how closed the box's outline is in the edge map
    density: np.ndarray  # float32: fraction of edge pixels inside

    @classmethod
    def empty(cls) -> Candidates:
        z = np.zeros(0, np.float32)
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int8), z, z.copy(), z.copy())

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def take(self, idx: np.ndarray) -> Candidates:
        return Candidates(self.boxes[idx], self.source[idx], self.score[idx], self.border[idx], self.density[idx])

    def shifted(self, dx: float, dy: float) -> Candidates:
        b = self.boxes.copy()
        b[:, [0, 2]] += dx
        b[:, [1, 3]] += dy
        return Candidates(b, self.source, self.score, self.border, self.density)

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Candidates.empty()
        return Candidates(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.source for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.concatenate([p.border for p in parts]),
            np.concatenate([p.density for p in parts]),
        )


def edge_map(gray: np.ndarray, threshold: int) -> np.ndarray:
    """1 where the 2x2 morphological gradient (thin: two pixels per line, so a 2 px gap
    between two borders stays open) reaches ``threshold``, else 0 (uint8)."""
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, _K2)
    _, e = cv2.threshold(grad, threshold - 1, 1, cv2.THRESH_BINARY)
    return e


def rects(contours: Sequence[np.ndarray]) -> np.ndarray:
    """Bounding boxes (N, 4) xyxy (exclusive max) of contours, vectorised."""
    n = len(contours)
    if n == 0:
        return np.zeros((0, 4), np.float32)
    lens = np.fromiter(map(len, contours), np.int64, n)
    pts = np.concatenate(contours).reshape(-1, 2)
    starts = np.zeros(n, np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    out = np.empty((n, 4), np.float32)
    out[:, 0] = np.minimum.reduceat(pts[:, 0], starts)
    out[:, 1] = np.minimum.reduceat(pts[:, 1], starts)
    out[:, 2] = np.maximum.reduceat(pts[:, 0], starts) + 1
    out[:, 3] = np.maximum.reduceat(pts[:, 1], starts) + 1
    return out


def _grouped(edges: np.ndarray, kx: int, ky: int) -> np.ndarray:
    """Boxes of edge components after dilating by a kx*ky rectangle, shrunk back by the dilation."""
    d = cv2.dilate(edges, np.ones((ky, kx), np.uint8))
    cnts, _ = cv2.findContours(d, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    b = rects(cnts)
    if len(b):
        b[:, 0] += kx // 2
        b[:, 2] -= kx // 2
        b[:, 1] += ky // 2
        b[:, 3] -= ky // 2
    return b


def _mser_lines(gray: np.ndarray, scale: float, lim: Limits) -> np.ndarray:
    """Text lines from MSER blobs found on a copy ``scale`` times smaller."""
    h, w = gray.shape
    sw, sh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
    max_area = int(max(30.0, (lim.text_max_h * scale) ** 2 * 1.5))
    mser: Any = cv2.MSER_create(delta=5, min_area=4, max_area=max_area)  # type: ignore[attr-defined]
    _, bb = mser.detectRegions(small)
    if bb is None or len(bb) == 0:
        return np.zeros((0, 4), np.float32)
    bb = np.asarray(bb, np.float32).reshape(-1, 4) / np.float32(scale)
    bw, bh = bb[:, 2], bb[:, 3]
    keep = (bh >= 3) & (bh <= lim.text_max_h) & (bw <= 3 * bh)
    bb = bb[keep]
    mask = np.zeros((h, w), np.uint8)
    for x, y, bw_, bh_ in bb.astype(np.int32):
        mask[y:y + bh_, x:x + bw_] = 1
    return _grouped(mask, lim.word_gap, 1)


def _band_sums(ii: np.ndarray, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Sum of the edge map over boxes, from its integral image (coordinates clipped)."""
    hh, ww = ii.shape[0] - 1, ii.shape[1] - 1
    x1 = np.clip(x1, 0, ww)
    x2 = np.clip(x2, 0, ww)
    y1 = np.clip(y1, 0, hh)
    y2 = np.clip(y2, 0, hh)
    return (ii[y2, x2] - ii[y1, x2] - ii[y2, x1] + ii[y1, x1]).astype(np.float32)


def features(ii: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(border closure, edge density) of every box, in [0, 1], from the edge map's integral image."""
    if len(boxes) == 0:
        z = np.zeros(0, np.float32)
        return z, z.copy()
    b = np.round(boxes).astype(np.int64)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    w = np.maximum(1, x2 - x1).astype(np.float32)
    h = np.maximum(1, y2 - y1).astype(np.float32)
    top = _band_sums(ii, x1, y1 - 1, x2, y1 + 2) / (2 * w)
    bot = _band_sums(ii, x1, y2 - 2, x2, y2 + 1) / (2 * w)
    left = _band_sums(ii, x1 - 1, y1, x1 + 2, y2) / (2 * h)
    right = _band_sums(ii, x2 - 2, y1, x2 + 1, y2) / (2 * h)
    sides = np.minimum(1.0, np.stack([top, bot, left, right], 1))
    border = 0.5 * sides.mean(1) + 0.5 * sides.min(1)
    inner = _band_sums(ii, x1 + 2, y1 + 2, x2 - 2, y2 - 2)
    density = inner / np.maximum(1.0, (w - 4) * (h - 4))
    return border.astype(np.float32), np.minimum(1.0, density).astype(np.float32)


def _vertical_runs(edges: np.ndarray, length: int) -> np.ndarray:
    """Pixels on vertical runs of at least ``length`` edge pixels (a morphological opening)."""
    k = np.ones((length, 1), np.uint8)
    return cv2.dilate(cv2.erode(edges, k), k)


def long_runs(edges: np.ndarray, lim: Limits) -> tuple[np.ndarray, np.ndarray]:
    """(vertical, horizontal): the edge pixels on straight runs longer than any glyph stroke
    (borders, separators, scrollbars). Horizontal runs are found on the transposed map (column
    filters are several times faster than row filters here)."""
    lv = max(3, int(round(1.5 * lim.glyph_max_h)))
    lh = max(5, int(round(2.0 * lim.glyph_max_h)))
    return _vertical_runs(edges, lv), cv2.transpose(_vertical_runs(cv2.transpose(edges), lh))


def without_long_lines(edges: np.ndarray, runs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The edge map without the ``long_runs``, so that words next to them are grouped on their own."""
    return cv2.subtract(edges, cv2.bitwise_or(*runs))


def texture_closed(edges: np.ndarray, ii: np.ndarray, cell: int = TEXTURE_CELL,
                   density: float = TEXTURE_DENSITY) -> np.ndarray:
    """The edge map with its small holes closed where it is texture (photos, noise, patterns):
    cells whose edge density exceeds anything a GUI shows. Without this, a textured area turns
    into ~100k tiny holes and contour tracing takes seconds; with it, the area becomes one blob."""
    h, w = edges.shape
    gh, gw = h // cell, w // cell
    if gh == 0 or gw == 0:
        return edges
    ys = np.arange(gh + 1) * cell
    xs = np.arange(gw + 1) * cell
    sums = ii[np.ix_(ys, xs)].astype(np.float64)
    dens = (sums[1:, 1:] - sums[:-1, 1:] - sums[1:, :-1] + sums[:-1, :-1]) / float(cell * cell)
    tex = dens > density
    if not tex.any():
        return edges
    # Neighbouring cells too, so a texture's ragged rim is closed as well.
    grown = cv2.dilate(tex.astype(np.uint8), _K3x3) > 0
    # Only the rectangle spanning the textured cells is closed (plus one pixel of context).
    rows, cols = np.nonzero(grown.any(1))[0], np.nonzero(grown.any(0))[0]
    cy1, cy2 = int(rows[0]) * cell, (int(rows[-1]) + 1) * cell
    cx1, cx2 = int(cols[0]) * cell, (int(cols[-1]) + 1) * cell
    py1, px1, py2, px2 = max(0, cy1 - 1), max(0, cx1 - 1), min(h, cy2 + 1), min(w, cx2 + 1)
    closed = cv2.morphologyEx(edges[py1:py2, px1:px2], cv2.MORPH_CLOSE, _K3x3)[cy1 - py1:cy2 - py1, cx1 - px1:cx2 - px1]
    mask = np.repeat(np.repeat(grown[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], cell, 0), cell, 1)
    out = edges.copy()
    out[cy1:cy2, cx1:cx2] = np.where(mask, closed, edges[cy1:cy2, cx1:cx2])
    return out


def _in_merged_lines(s: np.ndarray, src: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Per box of ``s`` (sources ``src``): a word that lies only in text lines (``lines``, all of
    them) much taller than itself: rows of a tight list whose lines the line grouping merged.
    Such a word stands for its own line."""
    words = np.nonzero(src == WORD)[0]
    out = np.zeros(len(s), bool)
    if len(words) == 0 or len(lines) == 0:
        return out
    wb = s[words]
    within = ((lines[None, :, 0] <= wb[:, None, 0]) & (lines[None, :, 1] <= wb[:, None, 1])
              & (lines[None, :, 2] >= wb[:, None, 2]) & (lines[None, :, 3] >= wb[:, None, 3]))
    tall = (lines[:, 3] - lines[:, 1])[None, :] > 1.6 * (wb[:, 3] - wb[:, 1])[:, None]
    out[words] = within.any(1) & ~(within & ~tall).any(1)
    return out


def flat_boxes(boxes: np.ndarray, source: np.ndarray, border: np.ndarray, lim: Limits,
               size_wh: tuple[int, int]) -> np.ndarray:
    """Padded boxes around words, lines and icons that no closed outline encloses closely."""
    b = boxes
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    closed_outline = border >= 0.6
    small_outer = (source == OUTER) & (~closed_outline | ((w <= 1.5 * lim.icon_max) & (h <= 1.5 * lim.icon_max)))
    seed = (((source == WORD) | (source == LINE) | small_outer)
            & (h <= 1.5 * lim.icon_max) & (h >= lim.min_h) & (w <= 8 * h))
    si = np.nonzero(seed)[0]
    if len(si) == 0:
        return np.zeros((0, 4), np.float32)
    s = b[si]
    sh = h[si][:, None]
    closed = np.nonzero(closed_outline)[0]
    rows = np.zeros((0, 4), np.float32)
    if len(closed):
        c = b[closed]
        inside = ((c[None, :, 0] <= s[:, None, 0]) & (c[None, :, 1] <= s[:, None, 1])
                  & (c[None, :, 2] >= s[:, None, 2]) & (c[None, :, 3] >= s[:, None, 3]))
        pi, pc = np.nonzero(inside)  # (seed, outline) pairs: a few per seed, not all of them
        ch, cw = c[:, 3] - c[:, 1], c[:, 2] - c[:, 0]
        sw, shv = s[:, 2] - s[:, 0], sh[:, 0]
        line = source[si] == LINE
        # Rows of a list: a text line in a tall outline that holds several lines and is several
        # times the line's width spans the outline's inner width (the innermost such outline).
        row = line | _in_merged_lines(s, source[si], b[source == LINE])
        listy = np.bincount(pc[row[pi]], minlength=len(c)) >= 3  # outlines holding several lines
        holds = np.nonzero(row[pi] & listy[pc] & (ch[pc] > 4.0 * shv[pi]) & (cw[pc] >= 3.0 * sw[pi]))[0]
        if len(holds):
            hs, hc = pi[holds], pc[holds]
            order = np.lexsort((ch[hc] * cw[hc], hs))  # per seed, the smallest outline first
            hs, hc = hs[order], hc[order]
            first = np.concatenate([[True], hs[1:] != hs[:-1]])
            hs, inner = hs[first], c[hc[first]]
            sr, shr = s[hs], shv[hs]
            rows = np.stack([inner[:, 0] + 1, sr[:, 1] - 0.15 * shr, inner[:, 2] - 1, sr[:, 3] + 0.15 * shr], axis=1)
        # A bordered widget (button, field: an outline a few content heights tall around one or
        # two pieces of content) has its own box already; a panel, toolbar or window around many
        # pieces does not count. Pieces: words and icons (lines repeat the words).
        pieces = np.bincount(pc[~line[pi]], minlength=len(c))
        larger = ch[pc] * cw[pc] >= 1.6 * (shv[pi] * sw[pi])  # a frame around it, not itself
        enclosed = np.zeros(len(s), bool)
        enclosed[pi[larger & (ch[pc] <= 4.0 * shv[pi]) & (pieces[pc] <= 3)]] = True
        s, sh = s[~enclosed], sh[~enclosed]
    if len(s):  # a one-word line is also a word: one seed each
        s, keep = np.unique(np.round(s), axis=0, return_index=True)
        sh = sh[keep]
    out = []
    for px, py in FLAT_PADS:
        pad = np.concatenate([-np.array([px, py], np.float32) * sh, np.array([px, py], np.float32) * sh], axis=1)
        out.append(s + pad)
    out.append(rows.astype(np.float32))
    f = np.concatenate(out).astype(np.float32)
    f[:, [0, 2]] = np.clip(f[:, [0, 2]], 0, size_wh[0])
    f[:, [1, 3]] = np.clip(f[:, [1, 3]], 0, size_wh[1])
    return f


#: ``fine(horizontal, edges)``: more enclosed areas (``HOLE`` boxes, image pixels) found another
#: way, given the image's map of long horizontal edge runs (``long_runs``) and its edge map.
FineLook = Callable[[np.ndarray, np.ndarray], np.ndarray]


def detect(gray: np.ndarray, cfg: ROIConfig, lim: Limits, fine: FineLook | None = None) -> Candidates:
    """All candidate boxes of a gray working image (or a crop of it), scored, size-filtered.

    ``fine``: a second look for enclosed areas the image lost (:mod:`rpa_vision.roi.fine` reads
    the full-resolution pixels where horizontal lines are closer than a text line)."""
    h, w = gray.shape[:2]
    if h < 4 or w < 4:
        return Candidates.empty()
    edges = edge_map(gray, cfg.edge_threshold)
    ii = cv2.integral(edges)
    traced = texture_closed(edges, ii)
    cnts, hier = cv2.findContours(traced, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parts: list[np.ndarray] = []
    srcs: list[np.ndarray] = []
    if len(cnts):
        r = rects(cnts)
        hole = hier.reshape(-1, 4)[:, 3] >= 0
        # A hole's contour runs over the edge pixels around it; one more pixel reaches the border line.
        holes = r[hole] + np.array([-1, -1, 1, 1], np.float32)
        parts += [r[~hole], holes]
        srcs += [np.full(int((~hole).sum()), OUTER, np.int8), np.full(len(holes), HOLE, np.int8)]
    runs = long_runs(traced, lim)
    glyphs = without_long_lines(traced, runs)
    if fine is not None:
        more = fine(runs[1], traced)
        parts.append(more)
        srcs.append(np.full(len(more), HOLE, np.int8))
    for kx, ky, src in ((lim.word_gap, 1, WORD), (lim.line_gap, 3, LINE)):
        g = _grouped(glyphs, kx, ky)
        parts.append(g)
        srcs.append(np.full(len(g), src, np.int8))
    if cfg.mser:
        m = _mser_lines(gray, cfg.mser_scale, lim)
        parts.append(m)
        srcs.append(np.full(len(m), MSER, np.int8))
    boxes = np.concatenate(parts) if parts else np.zeros((0, 4), np.float32)
    source = np.concatenate(srcs) if srcs else np.zeros(0, np.int8)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
    bw = boxes[:, 2] - boxes[:, 0]
    bh = boxes[:, 3] - boxes[:, 1]
    keep = (bw >= lim.min_w) & (bh >= lim.min_h) & (bw <= lim.max_w) & (bh <= lim.max_h)
    boxes, source = boxes[keep], source[keep]
    if len(boxes) > MAX_CANDIDATES:  # keep the larger ones (small fragments are the many)
        top = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), kind="stable")[:MAX_CANDIDATES]
        boxes, source = boxes[top], source[top]
    border, density = features(ii, boxes)
    if cfg.flat_widgets:
        flat = flat_boxes(boxes, source, border, lim, (w, h))
        if len(flat):
            fb, fd = features(ii, flat)
            boxes = np.concatenate([boxes, flat])
            source = np.concatenate([source, np.full(len(flat), FLAT, np.int8)])
            border, density = np.concatenate([border, fb]), np.concatenate([density, fd])
    bh = boxes[:, 3] - boxes[:, 1]
    texty = (bh <= lim.text_max_h).astype(np.float32) * np.minimum(1.0, 2.5 * density) * 0.8
    score = np.clip(0.4 * _PRIOR[source] + 0.6 * np.maximum(border, texty), 0.0, 1.0).astype(np.float32)
    # Padded hypotheses rank below everything drawn (every other score is >= 0.4 x the lowest
    # prior = 0.14), so suppression never lets one replace a box that was found.
    score[source == FLAT] *= FLAT_SCORE
    return Candidates(boxes, source, score, border, density)
