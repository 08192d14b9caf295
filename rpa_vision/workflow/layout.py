"""Where the steps found so far put the next target: a per-axis linear map of the layout.

Within one replay, elements found so far (recorded box -> box found now) usually follow one
simple map: a moved window shifts them all, a resized or re-fonted grid scales them per axis.
When two or more of them agree on such a map, a candidate far from where the map puts the next
target is suspicious, whatever its confidence: the replayer asks instead of clicking. When they
do not agree (dialogs, reflowed layouts), no prediction is made and nothing is vetoed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rpa_vision.core.geometry import Box, Point


def _fit(src: np.ndarray, dst: np.ndarray, sizes: np.ndarray) -> tuple[float, float] | None:
    """``dst ~ a * src + b``; translation with the size ratio as scale when ``src`` barely varies."""
    if float(np.ptp(src)) >= 20.0:
        a, b = np.polyfit(src, dst, 1)
        if not (0.25 <= a <= 4.0):
            return None
        return float(a), float(b)
    a = float(np.median(sizes))
    return a, float(np.mean(dst - a * src))


@dataclass
class LayoutModel:
    min_pairs: int = 2
    max_pairs: int = 8
    pairs: list[tuple[Box, Box]] = field(default_factory=list)  # (recorded on this screen, found)

    def add(self, recorded: Box, found: Box) -> None:
        self.pairs.append((recorded, found))
        del self.pairs[: -self.max_pairs]

    def predict(self, recorded: Box) -> tuple[Point, float] | None:
        """The expected centre of ``recorded`` now and a tolerance in pixels; None when unsure."""
        if len(self.pairs) < self.min_pairs:
            return None
        rc = np.array([[r.center.x, r.center.y] for r, _ in self.pairs])
        fc = np.array([[f.center.x, f.center.y] for _, f in self.pairs])
        sw = np.array([f.width / r.width if r.width > 0 else 1.0 for r, f in self.pairs])
        sh = np.array([f.height / r.height if r.height > 0 else 1.0 for r, f in self.pairs])
        fx, fy = _fit(rc[:, 0], fc[:, 0], sw), _fit(rc[:, 1], fc[:, 1], sh)
        if fx is None or fy is None:
            return None
        px, py = fx[0] * rc[:, 0] + fx[1], fy[0] * rc[:, 1] + fy[1]
        size = float(np.median([max(f.width, f.height) for _, f in self.pairs]))
        residual = float(np.max(np.hypot(px - fc[:, 0], py - fc[:, 1])))
        if residual > max(8.0, 0.3 * size):
            return None  # the found elements do not follow one simple map
        c = recorded.center
        pred = Point(fx[0] * c.x + fx[1], fy[0] * c.y + fy[1])
        tol = max(12.0, 0.6 * max(recorded.width * fx[0], recorded.height * fy[0]), 2.0 * residual)
        return pred, tol
