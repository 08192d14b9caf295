"""Change detection between consecutive frames: which rectangles of the screen changed.

Two stages keep an unchanged 4K frame cheap (about a millisecond or two):

1. *coarse*: compare every ``row_step``-th row (starting at ``phase``) of both frames, one
   machine word per pixel, and mark the ``tile x tile`` tiles where a sampled row differs;
2. *refine*: merge touching dirty tiles into components and compare every pixel inside each
   component's box to return the tight rectangle around what really changed.

A change thinner than ``row_step`` rows that falls entirely between sampled rows is missed by
one call; callers comparing against the same reference repeatedly (``CaptureLoop``) rotate
``phase`` so such a change is found within ``row_step`` grabs.
"""

from __future__ import annotations

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box

DEFAULT_TILE = 64
DEFAULT_ROW_STEP = 2


def _pixels(x: Frame | np.ndarray, name: str) -> np.ndarray:
    if isinstance(x, Frame):
        return x.pixels
    if isinstance(x, np.ndarray):
        if x.ndim not in (2, 3) or x.size == 0:
            raise ValidationError(f"{name} must be a non-empty HxW or HxWxC image", field=name)
        return x
    raise ValidationError(f"{name} must be a Frame or a numpy array, got {type(x).__name__}", field=name)


def _words(rows: np.ndarray) -> np.ndarray:
    """An (h, w) array with one element per pixel, as cheap to compare as possible."""
    if rows.ndim == 2:
        return rows
    c = rows.shape[2]
    if c == 4 and rows.dtype == np.uint8 and rows.strides[2] == 1 and rows.strides[1] == 4:
        try:
            return rows.view(np.uint32).reshape(rows.shape[0], rows.shape[1])
        except ValueError:
            pass
    return rows


def _neq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel inequality mask (h, w) of two same-shape images."""
    wa, wb = _words(a), _words(b)
    d = wa != wb
    return d.any(axis=2) if d.ndim == 3 else d


def dirty_tiles(
    prev: Frame | np.ndarray,
    cur: Frame | np.ndarray,
    tile: int = DEFAULT_TILE,
    row_step: int = DEFAULT_ROW_STEP,
    phase: int = 0,
) -> np.ndarray:
    """Boolean grid (rows x cols of tiles) of the tiles where a sampled row differs."""
    a, b = _pixels(prev, "prev"), _pixels(cur, "cur")
    if tile < 1 or row_step < 1:
        raise ValidationError("tile and row_step must be >= 1", field="tile")
    if a.shape != b.shape:
        raise ValidationError(f"frames differ in shape: {a.shape} vs {b.shape}", field="shape")
    h, w = a.shape[:2]
    ph = phase % row_step if row_step <= h else 0
    rows_idx = np.arange(ph, h, row_step)
    nty, ntx = -(-h // tile), -(-w // tile)
    if rows_idx.size == 0:
        return np.zeros((nty, ntx), bool)
    neq = _neq(a[ph::row_step], b[ph::row_step])  # (len(rows_idx), w)
    grid = np.zeros((nty, ntx), bool)
    if not neq.any():
        return grid
    hit = np.flatnonzero(neq.any(axis=1))  # only the sampled rows that differ are tiled
    sub = neq[hit]
    pad = ntx * tile - w
    if pad:
        sub = np.pad(sub, ((0, 0), (0, pad)))
    cols = sub.reshape(sub.shape[0], ntx, tile).any(axis=2)  # (hit rows, ntx)
    tile_of_row = rows_idx[hit] // tile
    starts = np.flatnonzero(np.r_[True, tile_of_row[1:] != tile_of_row[:-1]])
    grid[tile_of_row[starts]] = np.logical_or.reduceat(cols, starts, axis=0)
    return grid


def _tight_box(a: np.ndarray, b: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> Box | None:
    m = _neq(a[y1:y2, x1:x2], b[y1:y2, x1:x2])
    ys = np.flatnonzero(m.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(m.any(axis=0))
    return Box(x1 + int(xs[0]), y1 + int(ys[0]), x1 + int(xs[-1]) + 1, y1 + int(ys[-1]) + 1)


def dirty_rects(
    prev: Frame | np.ndarray,
    cur: Frame | np.ndarray,
    tile: int = DEFAULT_TILE,
    row_step: int = DEFAULT_ROW_STEP,
    phase: int = 0,
) -> list[Box]:
    """Rectangles (frame pixel coordinates, x2/y2 exclusive) that changed from ``prev`` to ``cur``.

    Touching dirty tiles merge into one rectangle, tightened to the changed pixels. Frames of
    different sizes give one rectangle covering ``cur``. An empty list means no change was seen.
    """
    a, b = _pixels(prev, "prev"), _pixels(cur, "cur")
    if a.shape != b.shape:
        return [Box(0, 0, b.shape[1], b.shape[0])]
    grid = dirty_tiles(a, b, tile, row_step, phase)
    if not grid.any():
        return []
    h, w = a.shape[:2]
    n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(grid.astype(np.uint8), connectivity=8)
    out: list[Box] = []
    for i in range(1, n):
        tx, ty, tw, th = (int(v) for v in stats[i, :4])
        x1, y1 = tx * tile, ty * tile
        x2, y2 = min(w, (tx + tw) * tile), min(h, (ty + th) * tile)
        box = _tight_box(a, b, x1, y1, x2, y2)
        if box is not None:
            out.append(box)
    out.sort(key=lambda bx: (bx.y1, bx.x1))
    return out


def frames_equal(a: Frame | np.ndarray, b: Frame | np.ndarray, row_step: int = 1) -> bool:
    """Whether two frames have the same pixels. Different frame keys answer at once; otherwise
    rows are compared (every row with ``row_step=1``, exact)."""
    if isinstance(a, Frame) and isinstance(b, Frame) and a.key and b.key and a.key != b.key:
        return False
    pa, pb = _pixels(a, "a"), _pixels(b, "b")
    if pa.shape != pb.shape or pa.dtype != pb.dtype:
        return False
    if row_step < 1:
        raise ValidationError("row_step must be >= 1", field="row_step")
    return not _neq(pa[::row_step], pb[::row_step]).any()
