"""Hover effects at record time: the screen as it was before the pointer reached the element.

Many toolkits draw the element under the pointer differently (a thicker border, a lighter
fill, a tooltip). The frame just before a press shows that hovered look, while at replay the
pointer is elsewhere when the element is searched for, so a crop cut from the hovered frame
is a poor likeness. The recorder therefore also keeps the frame from before the pointer came
close to the press point, and uses it when the two frames differ only around the element
(a hover effect and nothing else); any other change keeps the frame at the press.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Point


class PointerTrail:
    """Recent pointer positions (desktop pixels) with the time of each move."""

    def __init__(self, max_moves: int = 1024) -> None:
        self._moves: deque[tuple[float, Point]] = deque(maxlen=max_moves)

    def add(self, t: float, p: Point) -> None:
        self._moves.append((t, p))

    def arrived(self, t: float, p: Point, radius: float) -> float | None:
        """When the pointer came within ``radius`` of ``p`` for good before ``t``: the time of the
        first move after the last one farther away. None when it has not been farther away in
        the moves kept (it may have rested there, hovering, all along)."""
        moves = [m for m in self._moves if m[0] <= t]
        for i in range(len(moves) - 1, -1, -1):
            if moves[i][1].distance(p) > radius:
                return moves[i + 1][0] if i + 1 < len(moves) else t
        return None


def changed_box(a: Frame, b: Frame, *, threshold: int = 24) -> Box | None:
    """The bounding box (frame pixels) of what differs between two frames of one size; None when equal."""
    if a.size_wh != b.size_wh:
        return Box(0, 0, b.width, b.height)
    ga = cv2.cvtColor(a.bgr(), cv2.COLOR_BGR2GRAY)
    gb = cv2.cvtColor(b.bgr(), cv2.COLOR_BGR2GRAY)
    mask = cv2.absdiff(ga, gb) > threshold
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return Box(float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1)


def hover_only(pre: Frame, at: Frame, element: Box, *, margin_frac: float = 0.5, min_margin: float = 12.0) -> bool:
    """Whether ``pre`` and ``at`` differ, and only in and around ``element`` (frame pixels of ``at``)."""
    diff = changed_box(pre, at)
    if diff is None or pre.size_wh != at.size_wh:
        return False
    margin = max(min_margin * at.monitor.scale, margin_frac * max(element.width, element.height))
    return element.expand(margin).contains_box(diff) and diff.intersection(element) is not None
