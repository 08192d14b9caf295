"""Box set operations: non-maximum suppression, kind labels, and look-ups by point."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rpa_vision.core.geometry import Box, Point
from rpa_vision.roi.proposals import FLAT, HOLE, MSER, Candidates, Limits
from rpa_vision.roi.types import Region, RegionKind

KIND_NAMES: tuple[RegionKind, ...] = ("text", "widget", "container", "icon")
TEXT, WIDGET, CONTAINER, ICON = 0, 1, 2, 3


def overlapping_pairs(boxes: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, of boxes (N, 4) xyxy whose IoU exceeds ``iou`` > 0.

    IoU above ``t`` needs the wider box's width (height) at most ``1 / t`` times either box's,
    and the left (top) edges less than ``(1 - t)`` times that apart: so a sweep over the boxes
    sorted by left edge compares each box only with the boxes whose left edge lies within
    ``(1 - t) / t`` of its own width (~0.43 at 0.7), and of those only the ones whose top edge
    is as near, not all pairs."""
    n = len(boxes)
    z = np.zeros(0, np.int64)
    if n < 2:
        return z, z.copy()
    order = np.argsort(boxes[:, 0], kind="stable")
    s = boxes[order].astype(np.float32)
    x1, y1, x2, y2 = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
    k = np.float32((1.0 - iou) / iou)
    rx = k * (x2 - x1) + np.float32(1e-3)
    ry = k * (y2 - y1) + np.float32(1e-3)
    # Each pair once, from the side of the box sorted first (its reach suffices).
    pos = np.arange(n, dtype=np.int64)
    hi = np.searchsorted(x1, x1 + rx, side="right")
    counts = np.maximum(0, hi - pos - 1)
    total = int(counts.sum())
    if total == 0:
        return z, z.copy()
    a = np.repeat(pos, counts)
    b = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts - pos - 1, counts)
    near = np.abs(y1[a] - y1[b]) <= ry[a]
    a, b = a[near], b[near]
    iw = np.minimum(x2[a], x2[b]) - np.maximum(x1[a], x1[b])
    ih = np.minimum(y2[a], y2[b]) - np.maximum(y1[a], y1[b])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = (x2 - x1) * (y2 - y1)
    hit = inter > np.float32(iou) * (area[a] + area[b] - inter)
    i, j = order[a[hit]], order[b[hit]]
    return np.minimum(i, j), np.maximum(i, j)


#: Rounds of the vectorised resolution before the rest is resolved one box at a time.
_NMS_ROUNDS = 32


def nms(c: Candidates, iou: float, top_k: int) -> Candidates:
    """Greedy non-maximum suppression (best score first), at most ``top_k`` boxes kept.

    Every candidate takes part (a cap before suppression would drop lower-scored ones first,
    which on a busy screen loses whole widgets); the cap applies to the survivors. Only
    overlapping pairs are compared (:func:`overlapping_pairs`); the greedy order is resolved in
    rounds: a box whose better overlapping boxes are all suppressed is kept, a box with a kept
    better one is suppressed."""
    n = len(c)
    if n == 0:
        return c
    rank = np.empty(n, np.int64)
    rank[np.argsort(-c.score, kind="stable")] = np.arange(n)
    i, j = overlapping_pairs(c.boxes, iou)
    swap = rank[i] > rank[j]
    better, worse = np.where(swap, j, i), np.where(swap, i, j)
    state = np.zeros(n, np.int8)  # 0 undecided, 1 kept, 2 suppressed
    for _ in range(_NMS_ROUNDS):
        undecided = state == 0
        if not undecided.any():
            break
        live = np.bincount(worse, weights=(state[better] != 2), minlength=n)
        state[undecided & (live == 0)] = 1
        hit = worse[state[better] == 1]
        state[hit[state[hit] == 0]] = 2
    else:  # long chains of boxes each overlapping the next: the rest one by one, best first
        by_worse = np.argsort(worse, kind="stable")
        starts = np.searchsorted(worse[by_worse], np.arange(n + 1))
        rest = np.nonzero(state == 0)[0]
        for k in rest[np.argsort(rank[rest], kind="stable")].tolist():
            ups = better[by_worse[starts[k]:starts[k + 1]]]
            state[k] = 2 if (state[ups] == 1).any() else 1
    return ranked(c.take(np.nonzero(state == 1)[0]), top_k)


def ranked_order(c: Candidates, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` best boxes in a stable order: score, then top-to-bottom,
    left-to-right."""
    return np.lexsort((c.boxes[:, 0], c.boxes[:, 1], -c.score))[:top_k]


def ranked(c: Candidates, top_k: int) -> Candidates:
    """The ``top_k`` best boxes in a stable order: score, then top-to-bottom, left-to-right."""
    return c.take(ranked_order(c, top_k))


def label_kinds(c: Candidates, lim: Limits, known: np.ndarray | None = None) -> np.ndarray:
    """A kind code per box: text lines, small square icons, containers of several boxes, widgets.

    ``known``: kind codes already worked out for some boxes (-1 for the others), e.g. boxes of an
    earlier frame that nothing changed in or around; only the others are labelled, the known
    ones being their context (a box's kind depends on the boxes inside it and on the text lines
    around it)."""
    n = len(c)
    kinds = np.full(n, WIDGET, np.int8)
    if n == 0:
        return kinds
    todo = np.ones(n, bool) if known is None else known < 0
    b = c.boxes
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    area = w * h
    aspect = w / np.maximum(h, 1e-6)
    # Text: dense edge clusters of text height (glyph edges fill most of a word's box), wide
    # or glyph-sized; never an enclosed area. Icons: small, squarish, not text.
    text = (c.source == MSER) | (
        (c.source != HOLE) & (h <= lim.text_max_h) & (c.density >= 0.3) & ((aspect >= 1.3) | (h <= lim.glyph_max_h))
    )
    icon = ~text & (w <= lim.icon_max) & (h <= lim.icon_max) & (aspect >= 0.75) & (aspect <= 1.34)
    # Glyphs and fragments inside a text line are part of that text, not icons or widgets.
    small = np.nonzero(todo & ~text & (h <= lim.text_max_h))[0]
    tidx = np.nonzero(text)[0]
    if len(small) and len(tidx):
        tb = b[tidx]
        sb = b[small]
        within = (
            (sb[:, None, 0] >= tb[None, :, 0]) & (sb[:, None, 1] >= tb[None, :, 1])
            & (sb[:, None, 2] <= tb[None, :, 2]) & (sb[:, None, 3] <= tb[None, :, 3])
        ).any(1)
        text[small[within]] = True
        icon[small[within]] = False
    if known is not None:
        done = ~todo
        text[done] = known[done] == TEXT
        icon[done] = known[done] == ICON
    kinds[text] = TEXT
    kinds[icon] = ICON
    # Containers: big boxes, or boxes holding several smaller boxes taller than a glyph that are
    # not text (a button holding its label's words and glyphs stays a widget; a group of buttons
    # is a container).
    big = np.nonzero(todo & ~text & ((w > 2 * lim.icon_max) | (h > 2 * lim.icon_max)))[0]
    # Possible children: not text, taller than a glyph, drawn (padded hypotheses are not children).
    kid = np.nonzero(~text & (h > lim.glyph_max_h) & (c.source != FLAT))[0]
    if len(big):
        pb = b[big]
        cb = b[kid]
        inside = (
            (cb[None, :, 0] >= pb[:, None, 0]) & (cb[None, :, 1] >= pb[:, None, 1])
            & (cb[None, :, 2] <= pb[:, None, 2]) & (cb[None, :, 3] <= pb[:, None, 3])
            & (area[kid][None, :] < 0.5 * area[big][:, None])
        )
        children = inside.sum(1)
        cont = (children >= 3) | (area[big] >= lim.container_min_area)
        kinds[big[cont]] = CONTAINER
    if known is not None:
        kinds[~todo] = known[~todo]
    return kinds


_BX1, _BY1, _BX2, _BY2 = (getattr(Box, f).__set__ for f in ("x1", "y1", "x2", "y2"))
_RBOX, _RKIND, _RSCORE, _RPAD = (getattr(Region, f).__set__ for f in ("box", "kind", "score", "padded"))
_new = object.__new__


def _region(x1: float, y1: float, x2: float, y2: float, kind: RegionKind, score: float, padded: bool) -> Region:
    """A Region from values already checked as a whole array (finite, ``x2 > x1``, ``y2 > y1``,
    a known kind, score in [0, 1]): the frozen dataclasses' slots are filled directly, without
    their per-object checks (a busy frame has ~2000 regions; the checks cost ~10 ms)."""
    box = _new(Box)
    _BX1(box, x1)
    _BY1(box, y1)
    _BX2(box, x2)
    _BY2(box, y2)
    region = _new(Region)
    _RBOX(region, box)
    _RKIND(region, kind)
    _RSCORE(region, score)
    _RPAD(region, padded)
    return region


def regions_aligned(c: Candidates, kinds: np.ndarray, sx: float, sy: float,
                    frame_wh: tuple[int, int]) -> list[Region | None]:
    """One region per box in full-resolution frame pixels (working box divided by the scale,
    clipped), None where the clipped box is empty."""
    if len(c) == 0:
        return []
    fw, fh = frame_wh
    b = c.boxes.astype(np.float64)
    full = np.empty_like(b)
    full[:, [0, 2]] = np.clip(b[:, [0, 2]] / sx, 0, fw)
    full[:, [1, 3]] = np.clip(b[:, [1, 3]] / sy, 0, fh)
    ok = (np.isfinite(full).all(1) & (full[:, 2] > full[:, 0]) & (full[:, 3] > full[:, 1])).tolist()
    score = np.clip(np.nan_to_num(c.score.astype(np.float64)), 0.0, 1.0).tolist()
    names = [KIND_NAMES[k] for k in kinds.tolist()]
    flat = (c.source == FLAT).tolist()
    return [
        _region(x1, y1, x2, y2, k, s, f) if good else None
        for (x1, y1, x2, y2), k, s, f, good in zip(full.tolist(), names, score, flat, ok, strict=True)
    ]


def to_regions(c: Candidates, kinds: np.ndarray, sx: float, sy: float, frame_wh: tuple[int, int]) -> tuple[Region, ...]:
    """Regions in full-resolution frame pixels (working box divided by the scale, clipped)."""
    return tuple(r for r in regions_aligned(c, kinds, sx, sy, frame_wh) if r is not None)


def region_at(
    regions: Sequence[Region], point: Point | tuple[float, float], *, text_ratio: float = 40.0
) -> Region | None:
    """The element under a point: the smallest plausible region containing it.

    Padded flat-widget hypotheses count only when no other region holds the point.
    Widgets and icons come first (clicking the label of a button means the button); a text
    line wins when no widget holds the point, or the smallest one is both more than three text
    heights tall and ``text_ratio`` times larger (an item inside a list, a link inside a panel);
    a container only when nothing else contains the point.
    """
    p = point if isinstance(point, Point) else Point(float(point[0]), float(point[1]))
    found = [r for r in regions if r.box.contains(p)]
    hits = [r for r in found if not r.padded] or found  # padded hypotheses only when nothing else
    if not hits:
        return None

    def smallest(kinds: tuple[str, ...]) -> Region | None:
        rs = [r for r in hits if r.kind in kinds]
        return min(rs, key=lambda r: (r.box.area, -r.score)) if rs else None

    widget = smallest(("widget", "icon"))
    texts = [r for r in hits if r.kind == "text"]
    # The whole text line rather than one of its words (a label, a menu item, a link).
    text = max(texts, key=lambda r: (r.box.area, r.score)) if texts else None
    if widget is not None and (
        text is None or widget.box.height <= 3 * text.box.height or widget.box.area <= text_ratio * text.box.area
    ):
        return widget
    if text is not None:
        return text
    return smallest(("container",))


def regions_near(
    regions: Sequence[Region], box: Box, *, radius: float | None = None, k: int = 8,
    kinds: Sequence[RegionKind] | None = None,
) -> list[Region]:
    """Up to ``k`` regions closest to ``box`` (centre distance), excluding ``box`` itself, regions
    containing it and regions inside it; within ``radius`` pixels when given. Anchors for a
    target element."""
    c = box.center
    scored: list[tuple[float, Region]] = []
    for r in regions:
        if kinds is not None and r.kind not in kinds:
            continue
        if r.box.contains_box(box) or box.contains_box(r.box) or r.box.iou(box) > 0.7:
            continue
        d = r.box.center.distance(c)
        if radius is not None and d > radius:
            continue
        scored.append((d, r))
    scored.sort(key=lambda t: t[0])
    return [r for _, r in scored[:k]]
