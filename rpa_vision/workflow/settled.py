"""What a recorded wait waited for: the part of the screen that changed while recording.

A whole-screen state vector barely moves when a dialog opens over a large screen: the screen
without the dialog still looks "as recorded". A WAIT step therefore also compares the part of
the screen that the wait was about: the cells of a coarse grey grid where the settled screen
(the WAIT step's after-thumbnail) differs from the screen before the previous action (that
step's before-thumbnail). The wait is over there when the current screen agrees with the
settled one on most of those cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRID_W = 120  # cells across the screen (16 px each on a 1920 px wide screen)
LEVEL = 16  # grey levels: a cell changed (or agrees) when it moved by more (or not more) than this
MIN_CELLS = 8  # fewer changed cells than this: nothing measurable changed
AGREE = 0.8  # the changed part looks settled when at least this fraction of its cells agree
_ASPECT_TOL = 0.02


def _grid(bgr: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    img = bgr if bgr.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(bgr[..., :3]), cv2.COLOR_BGR2GRAY)
    return cv2.resize(img, wh, interpolation=cv2.INTER_AREA).astype(np.float32)


@dataclass(frozen=True)
class ChangedPart:
    """The settled screen on the cells that changed during a recorded wait."""

    settled: np.ndarray  # (h, w) grey grid of the settled screen
    mask: np.ndarray  # (h, w) bool: the cells that changed
    aspect: float  # width / height of the recorded screen

    @property
    def cells(self) -> int:
        return int(np.count_nonzero(self.mask))

    @classmethod
    def between(cls, before: np.ndarray, settled: np.ndarray) -> ChangedPart | None:
        """The cells where ``settled`` differs from ``before`` (two thumbnails of the same screen,
        BGR or grey); None when they differ in size or on fewer than ``MIN_CELLS`` cells."""
        if before.shape[:2] != settled.shape[:2] or min(settled.shape[:2]) < 2:
            return None
        h, w = settled.shape[:2]
        wh = (GRID_W, max(1, round(GRID_W * h / w)))
        s = _grid(settled, wh)
        mask = np.abs(s - _grid(before, wh)) > LEVEL
        if np.count_nonzero(mask) < MIN_CELLS:
            return None
        return cls(s, mask, w / h)

    def agreement(self, image: np.ndarray) -> float | None:
        """The fraction of the changed cells on which ``image`` (the screen now, any size of the
        same aspect) looks like the settled screen; None for a screen of another aspect."""
        h, w = image.shape[:2]
        if h < 2 or w < 2 or abs(w / h - self.aspect) > _ASPECT_TOL * self.aspect:
            return None
        now = _grid(image, (self.settled.shape[1], self.settled.shape[0]))
        agree = np.abs(now - self.settled) <= LEVEL
        return float(np.count_nonzero(agree & self.mask)) / self.cells
