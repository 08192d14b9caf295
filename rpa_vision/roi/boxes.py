"""Box set operations: non-maximum suppression, kind labels, and look-ups by point."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rpa_vision.core.geometry import Box, Point
from rpa_vision.roi.proposals import FLAT, HOLE, MSER, Candidates, Limits
from rpa_vision.roi.types import Region, RegionKind

KIND_NAMES: tuple[RegionKind, ...] = ("text", "widget", "container", "icon")
TEXT, WIDGET, CONTAINER, ICON = 0, 1, 2, 3


def nms(c: Candidates, iou: float, top_k: int) -> Candidates:
    """Greedy non-maximum suppression (best score first), at most ``top_k`` boxes kept."""
    if len(c) == 0:
        return c
    xywh = c.boxes.copy()
    xywh[:, 2:] -= xywh[:, :2]
    # Every candidate takes part (OpenCV's own top_k would drop the lower-scored ones *before*
    # suppression, which on a busy screen loses whole widgets); the cap applies to the survivors.
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), c.score.tolist(), 0.0, float(iou))
    idx = np.asarray(kept, np.int64).reshape(-1)
    return ranked(c.take(idx), top_k)


def ranked(c: Candidates, top_k: int) -> Candidates:
    """The ``top_k`` best boxes in a stable order: score, then top-to-bottom, left-to-right."""
    order = np.lexsort((c.boxes[:, 0], c.boxes[:, 1], -c.score))[:top_k]
    return c.take(order)


def label_kinds(c: Candidates, lim: Limits) -> np.ndarray:
    """A kind code per box: text lines, small square icons, containers of several boxes, widgets."""
    n = len(c)
    kinds = np.full(n, WIDGET, np.int8)
    if n == 0:
        return kinds
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
    small = np.nonzero(~text & (h <= lim.text_max_h))[0]
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
    kinds[text] = TEXT
    kinds[icon] = ICON
    # Containers: big boxes, or boxes holding several smaller boxes taller than a glyph that are
    # not text (a button holding its label's words and glyphs stays a widget; a group of buttons
    # is a container).
    big = np.nonzero(~text & ((w > 2 * lim.icon_max) | (h > 2 * lim.icon_max)))[0]
    if len(big):
        pb = b[big]
        inside = (
            (b[None, :, 0] >= pb[:, None, 0]) & (b[None, :, 1] >= pb[:, None, 1])
            & (b[None, :, 2] <= pb[:, None, 2]) & (b[None, :, 3] <= pb[:, None, 3])
            & (area[None, :] < 0.5 * area[big][:, None]) & ~text[None, :] & (h[None, :] > lim.glyph_max_h)
            & (c.source != FLAT)[None, :]  # padded hypotheses are not children
        )
        children = inside.sum(1)
        cont = (children >= 3) | (area[big] >= lim.container_min_area)
        kinds[big[cont]] = CONTAINER
    return kinds


def to_regions(c: Candidates, kinds: np.ndarray, sx: float, sy: float, frame_wh: tuple[int, int]) -> tuple[Region, ...]:
    """Regions in full-resolution frame pixels (working box divided by the scale, clipped)."""
    if len(c) == 0:
        return ()
    fw, fh = frame_wh
    b = c.boxes.astype(np.float64)
    full = np.empty_like(b)
    full[:, [0, 2]] = np.clip(b[:, [0, 2]] / sx, 0, fw)
    full[:, [1, 3]] = np.clip(b[:, [1, 3]] / sy, 0, fh)
    out = []
    flat = (c.source == FLAT).tolist()
    for (x1, y1, x2, y2), k, s, f in zip(full.tolist(), kinds.tolist(), c.score.tolist(), flat, strict=True):
        if x2 > x1 and y2 > y1:
            out.append(Region(Box(x1, y1, x2, y2), KIND_NAMES[k], float(min(1.0, max(0.0, s))), f))
    return tuple(out)


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
