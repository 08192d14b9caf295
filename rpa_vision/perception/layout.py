"""The layout block of a state vector: where a window has edges, on a fixed grid.

An embedding of the whole window (the global block) tells applications and their pages apart,
but it is computed from a small picture: two states of one window that differ by a few
characters (a result in a calculator's display, a message line) or one small widget look alike
to it. This block keeps that detail, invariant to what should not matter:

* **theme** (dark, inverted, recoloured): only whether a pixel is on a colour step counts
  (the largest step over B, G, R, either sign), not the colours;
* **scale and window size**: the window is fitted inside ``LayoutConfig.side`` pixels and its
  steps are pooled onto a ``grid`` x ``grid`` raster of the window, whatever its size;
* **small shifts, thicker or thinner strokes**: per cell, the square root of the share of step
  pixels, smoothed over about one cell; centred on its mean and L2-normalised.

numpy + OpenCV, a few milliseconds on a window fitted to 512 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.perception.pixels import fit_bgr
from rpa_vision.perception.window import colour_steps


@dataclass(frozen=True)
class LayoutConfig:
    """``side``: the window is fitted inside this many pixels; ``edge``: a colour step counts
    above this; ``sigma``: smoothing of the raster, in cells. The grid size is the fusion's
    (``FusionConfig.layout_grid``): it fixes the block's dimension."""

    side: int = 512
    edge: float = 40.0
    sigma: float = 0.7

    def __post_init__(self) -> None:
        if not (isinstance(self.side, int) and 32 <= self.side <= 4096):
            raise ValidationError(f"side must be an int in [32, 4096], got {self.side!r}", field="side")
        if not (isinstance(self.edge, (int, float)) and 0 < self.edge < 255):
            raise ValidationError(f"edge must be in (0, 255), got {self.edge!r}", field="edge", value=self.edge)
        if not (isinstance(self.sigma, (int, float)) and 0 <= self.sigma <= 8):
            raise ValidationError(f"sigma must be in [0, 8], got {self.sigma!r}", field="sigma", value=self.sigma)


def layout_vector(frame: Frame, grid: int, config: LayoutConfig | None = None) -> np.ndarray:
    """The ``grid * grid`` layout vector of ``frame`` (float32, unit length; zeros when the
    frame has no edges at all)."""
    cfg = config if config is not None else LayoutConfig()
    return layout_of_fitted(fit_bgr(frame.pixels, frame.channels, (cfg.side, cfg.side)), grid, cfg)


def layout_of_fitted(small: np.ndarray, grid: int, config: LayoutConfig | None = None) -> np.ndarray:
    """``layout_vector`` of BGR pixels already fitted inside ``config.side`` (``pixels.fit_box``)."""
    cfg = config if config is not None else LayoutConfig()
    if not isinstance(grid, int) or grid < 1:
        raise ValidationError(f"grid must be an int >= 1, got {grid!r}", field="grid", value=grid)
    if small.ndim != 3 or small.shape[2] != 3 or small.size == 0:
        raise ValidationError(f"layout needs BGR pixels, got shape {small.shape}", field="pixels")
    dy, dx = colour_steps(small, cfg.edge)
    steps = (dy | dx).astype(np.float32)
    cells = np.sqrt(cv2.resize(steps, (grid, grid), interpolation=cv2.INTER_AREA))
    if cfg.sigma > 0:
        cells = cv2.GaussianBlur(cells, (0, 0), float(cfg.sigma))
    v = (cells - float(cells.mean())).reshape(-1).astype(np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else np.zeros(grid * grid, np.float32)
