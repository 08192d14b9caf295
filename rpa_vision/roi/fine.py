"""A second look at full resolution where a downscaled frame lost small cells.

On a frame analysed smaller than it is (4K at 1920x1080), small bordered cells (toolkit
buttons, table cells, segmented controls ~17 px tall, often in tight grids) shrink to ~8 px:
their labels and neighbours touch their borders and the cells merge into one edge blob. Such
places show as long horizontal lines closer together than a text line is tall. Only there, the
full-resolution pixels are read again: the holes of their edge map (limited to those places)
are the cells, mapped back to working pixels. Nothing else is read twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.roi.proposals import FineLook, Limits, edge_map, rects

GRAY_CODES = {"BGR": cv2.COLOR_BGR2GRAY, "BGRA": cv2.COLOR_BGRA2GRAY, "RGB": cv2.COLOR_RGB2GRAY,
              "RGBA": cv2.COLOR_RGBA2GRAY}
#: Working images at most this fraction of the frame's size get the second look (a 1440p frame
#: analysed at 1080p: 0.75; 4K: 0.5).
FINE_MAX_SCALE = 0.8
#: Lines that bound a row of cells are at least this many glyph heights long (working pixels;
#: shorter runs are mostly text that the downscale merged).
MIN_LINE_GLYPHS = 4.0
#: Rows of cells are at most this many glyph heights tall (working pixels): taller cells keep
#: their holes in the working image.
MAX_ROW_GLYPHS = 1.5
#: Cells of a row with a label somewhere are looked at this many glyph heights around it.
MAX_CELL_GLYPHS = 24.0
#: The close-line areas are looked for on a copy of the line map this many times smaller.
POOL = 2


@dataclass(frozen=True)
class FineSource:
    """Full-resolution pixels of the area a working image shows, and the scale between them
    (working pixels per frame pixel)."""

    pixels: np.ndarray
    channels: str
    sx: float
    sy: float

    @property
    def applies(self) -> bool:
        return max(self.sx, self.sy) <= FINE_MAX_SCALE


def _pooled(a: np.ndarray, pool: int) -> np.ndarray:
    """1 where a ``pool`` x ``pool`` block of a 0/1 map has a 1 (the map cropped to whole blocks)."""
    ph, pw = a.shape[0] // pool, a.shape[1] // pool
    # Area averaging at an integer factor: a block with any pixel (255) stays above zero.
    avg = cv2.resize(a[: ph * pool, : pw * pool] * np.uint8(255), (pw, ph), interpolation=cv2.INTER_AREA)
    return (avg > 0).astype(np.uint8)


def close_line_areas(horizontal: np.ndarray, lim: Limits, edges: np.ndarray | None = None,
                     pool: int = POOL) -> np.ndarray:
    """1 between long horizontal lines (from a map of horizontal edge runs, working pixels) that
    are closer together than ``MAX_ROW_GLYPHS`` glyphs: rows of small cells; with ``edges``
    (the edge map), only rows with something drawn in them (labels: blank cells, a chart's grid,
    keep their holes in the working image). Found on a copy ``pool`` times smaller
    (max-pooled: lines stay lines), and given in its pixels."""
    h, w = horizontal.shape
    ph, pw = h // pool, w // pool
    if ph < 2 or pw < 2:
        return np.zeros((max(ph, 0), max(pw, 0)), np.uint8)
    lines = _pooled(horizontal, pool)
    gap = max(3, int(round(MAX_ROW_GLYPHS * lim.glyph_max_h / pool))) | 1
    length = max(3, int(round(MIN_LINE_GLYPHS * lim.glyph_max_h / pool)))
    # Long lines only (shorter runs are mostly text that the downscale merged); the opening runs
    # down the columns of the transposed map (column filters are the fast ones).
    k = np.ones((length, 1), np.uint8)
    long_lines = cv2.transpose(cv2.dilate(cv2.erode(cv2.transpose(lines), k), k))
    closed = cv2.morphologyEx(long_lines, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8))
    between = cv2.subtract(closed, long_lines)
    if edges is not None:  # rows along for a table's width, so that no window cuts a cell
        drawn = cv2.bitwise_and(between, _pooled(edges, pool))
        reach = max(3, int(round(MAX_CELL_GLYPHS * lim.glyph_max_h / pool))) | 1
        between = cv2.bitwise_and(between, cv2.dilate(drawn, np.ones((gap, reach), np.uint8)))
    return between


def windows(mask: np.ndarray, pool: int = POOL, margin: int = 8) -> np.ndarray:
    """Rectangles (working pixels, int xyxy) around the groups of ``mask`` pixels (``pool``
    working pixels each) less than ``margin`` working pixels apart, with that much context."""
    m = max(1, -(-margin // pool))
    grown = cv2.dilate(mask, np.ones((2 * m + 1, 2 * m + 1), np.uint8))
    cnts, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return rects(cnts).astype(np.int64) * pool


def _lines(edges: np.ndarray, run: int) -> np.ndarray:
    """The straight runs of at least ``run`` pixels of an edge map, one pixel thicker (closing the
    corners where a rounded or anti-aliased border leaves its runs apart). Cells are bounded by
    such lines; tracing only them leaves out the many contours of the labels inside."""
    k = np.ones((run, 1), np.uint8)
    grow = np.ones((run + 2, 3), np.uint8)  # the opening's dilation and the thickening at once
    vertical = cv2.dilate(cv2.erode(edges, k), grow)
    horizontal = cv2.transpose(cv2.dilate(cv2.erode(cv2.transpose(edges), k), grow))
    return cv2.bitwise_or(vertical, horizontal)


def fine_holes(src: FineSource, mask: np.ndarray, lim: Limits, threshold: int) -> np.ndarray:
    """Holes of the full-resolution edge map in the ``windows`` of ``mask`` (working pixels), as
    boxes in working pixels (xyxy float32). Frames more than 4x the working image (8K) are read
    at about twice its resolution (whole-pixel area steps), which is enough to split the cells."""
    fh, fw = src.pixels.shape[:2]
    step = max(1, int(1.0 / (2.0 * max(src.sx, src.sy))))
    run = max(5, int(round(0.6 * lim.glyph_max_h / (max(src.sx, src.sy) * step))))
    out = []
    for x1, y1, x2, y2 in windows(mask).tolist():
        fx1, fy1 = max(0, int(x1 / src.sx)), max(0, int(y1 / src.sy))
        fx2, fy2 = min(fw, int(np.ceil(x2 / src.sx))), min(fh, int(np.ceil(y2 / src.sy)))
        if fx2 - fx1 < 4 or fy2 - fy1 < 4:
            continue
        crop = src.pixels[fy1:fy2, fx1:fx2]
        if crop.ndim == 3 and crop.shape[2] > 1:
            gray = cv2.cvtColor(crop, GRAY_CODES[src.channels])
        else:
            gray = np.ascontiguousarray(crop.reshape(crop.shape[0], crop.shape[1]))
        if step > 1:
            gh, gw = gray.shape[0] // step, gray.shape[1] // step
            if gh < 4 or gw < 4:
                continue
            gray = cv2.resize(gray[: gh * step, : gw * step], (gw, gh), interpolation=cv2.INTER_AREA)
        cnts, hier = cv2.findContours(_lines(edge_map(gray, threshold), run), cv2.RETR_CCOMP,
                                      cv2.CHAIN_APPROX_SIMPLE)
        if not len(cnts):
            continue
        hole = hier.reshape(-1, 4)[:, 3] >= 0
        if not hole.any():
            continue
        r = rects([c for c, is_hole in zip(cnts, hole.tolist(), strict=True) if is_hole])
        # As in the working image one more pixel reaches the border line around the hole, and
        # one more undoes the thickening of the lines.
        r = (r + np.array([-2, -2, 2, 2], np.float32)) * np.float32(step)
        out.append(r + np.array([fx1, fy1, fx1, fy1], np.float32))
    if not out:
        return np.zeros((0, 4), np.float32)
    b = np.concatenate(out)
    b[:, [0, 2]] *= np.float32(src.sx)
    b[:, [1, 3]] *= np.float32(src.sy)
    return b


def fine_look(src: FineSource, lim: Limits, threshold: int) -> FineLook:
    """The ``fine`` hook of :func:`~rpa_vision.roi.proposals.detect` for a working image of ``src``."""

    def look(horizontal: np.ndarray, edges: np.ndarray) -> np.ndarray:
        mask = close_line_areas(horizontal, lim, edges)
        b = fine_holes(src, mask, lim, threshold)
        h = b[:, 3] - b[:, 1]
        return b[h <= 2.0 * lim.glyph_max_h]  # cells of the size that the working image loses

    return look
