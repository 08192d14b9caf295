"""The builtin encoder: a weight-free descriptor designed for GUI pixels (numpy + OpenCV).

What it keeps and what it ignores:

* **theme** (light/dark, inverted or recoloured): only polarity-free quantities are used —
  gradient magnitude, *unsigned* gradient orientation (mod 180 degrees) taken from the colour
  channel with the strongest edge, the distance of each pixel to the crop's background colour,
  and chroma (max - min of B, G, R, which an inversion leaves unchanged);
* **scale** (0.5x-2x): every crop is resized to a canonical square; its aspect ratio is kept as
  a separate soft-binned feature;
* **small shifts and antialiasing**: the canonical crop is smoothed, orientations are soft-binned
  and pooled with overlapping (tent) windows over a coarse grid, at three grid sizes;
* **contrast**: every cell is normalised against the crop's mean edge energy and the blocks are
  power-normalised (square root), so faint and bold renderings of one label agree.

It still tells icons and labels apart through the spatial layout of oriented edges (a 6x6 grid
of 8 orientations), the layout of "ink", the aspect ratio and, weakly, how colourful a crop is.

The whole batch is processed as stacked arrays (one ``cv2.resize`` per crop, then numpy); the
pooling is one matrix product, so batching is much faster than one crop at a time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.embedding.base import INPUT_VERSION, Encoder

#: Bump whenever the descriptor changes: vectors of different versions must not be mixed.
BUILTIN_VERSION = 1


@dataclass(frozen=True)
class BuiltinConfig:
    """Geometry and block weights of the descriptor (part of its provenance)."""

    canonical: int = 48  # side of the canonical square, pixels
    fine_grid: int = 6
    coarse_grid: int = 3
    orientations: int = 8
    ink_grid: int = 6
    aspect_bins: int = 11
    gamma: float = 0.5  # power normalisation of pooled histograms
    w_fine: float = 1.0
    w_coarse: float = 0.6
    w_global: float = 0.3
    w_ink: float = 0.6
    w_aspect: float = 0.45
    w_colour: float = 0.2

    def __post_init__(self) -> None:
        if not 16 <= self.canonical <= 256:
            raise ValidationError("canonical size must be in [16, 256]", field="canonical", value=self.canonical)
        for f in ("fine_grid", "coarse_grid", "ink_grid"):
            g = getattr(self, f)
            if not 1 <= g <= self.canonical // 2:
                raise ValidationError(f"{f} must be in [1, canonical/2]", field=f, value=g)
        if not 2 <= self.orientations <= 32:
            raise ValidationError("orientations must be in [2, 32]", field="orientations", value=self.orientations)
        if self.aspect_bins < 2:
            raise ValidationError("aspect_bins must be >= 2", field="aspect_bins", value=self.aspect_bins)
        if not 0 < self.gamma <= 1:
            raise ValidationError("gamma must be in (0, 1]", field="gamma", value=self.gamma)
        for f in ("w_fine", "w_coarse", "w_global", "w_ink", "w_aspect", "w_colour"):
            w = getattr(self, f)
            if not (np.isfinite(w) and w >= 0):
                raise ValidationError(f"{f} must be a finite number >= 0", field=f, value=w)

    @property
    def dim(self) -> int:
        o = self.orientations
        return (o * (self.fine_grid ** 2 + self.coarse_grid ** 2 + 1) + self.ink_grid ** 2
                + self.aspect_bins + _COLOUR_DIM)


_COLOUR_EDGES = (12.0, 40.0, 90.0)  # chroma (0-255) bin edges
_COLOUR_DIM = len(_COLOUR_EDGES) + 2  # histogram + mean chroma


def _tent_pool_matrix(size: int, grid: int, spread: float = 1.5) -> np.ndarray:
    """``(size*size, grid*grid)`` weights pooling a square map into overlapping tent windows."""
    cell = size / grid
    centres = (np.arange(grid) + 0.5) * cell
    u = np.arange(size) + 0.5
    w1 = np.maximum(0.0, 1.0 - np.abs(u[:, None] - centres[None, :]) / (cell * spread))
    w1 /= w1.sum(axis=0, keepdims=True)
    w2 = np.einsum("yi,xj->yxij", w1, w1).reshape(size * size, grid * grid)
    return w2.astype(np.float32)


def _smooth(x: np.ndarray) -> np.ndarray:
    """[1 2 1]/4 separable smoothing over axes 1 and 2 of a batch, edges replicated."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 3), mode="edge")
    v = p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]
    return (v[:, :, :-2] + 2.0 * v[:, :, 1:-1] + v[:, :, 2:]) * (1.0 / 16.0)


class BuiltinEncoder(Encoder):
    """Weight-free, theme-, scale- and shift-tolerant embedding for GUI crops."""

    name = "builtin"
    batch_size = 256

    def __init__(self, config: BuiltinConfig | None = None, batch_size: int = 256) -> None:
        self.config = config or BuiltinConfig()
        if batch_size <= 0:
            raise ValidationError(f"batch size must be > 0, got {batch_size}", field="batch_size")
        self.batch_size = int(batch_size)
        self.dim = self.config.dim
        c = self.config
        self._pool = np.concatenate(
            [_tent_pool_matrix(c.canonical, c.fine_grid), _tent_pool_matrix(c.canonical, c.coarse_grid),
             np.full((c.canonical * c.canonical, 1), 1.0 / (c.canonical * c.canonical), np.float32)],
            axis=1,
        )
        self._ink_pool = _tent_pool_matrix(c.canonical, c.ink_grid)
        self._aspect_centres = np.linspace(-2.4, 2.4, c.aspect_bins).astype(np.float32)
        self._aspect_sigma = float(self._aspect_centres[1] - self._aspect_centres[0])

    @cached_property
    def _description(self) -> dict[str, Any]:
        c = self.config
        return {
            "encoder": "builtin",
            "model": f"gui-hog-v{BUILTIN_VERSION}",
            "weights": None,
            "dim": self.dim,
            "preprocessing": f"builtin-v{BUILTIN_VERSION}/input-v{INPUT_VERSION}",
            "config": {k: getattr(c, k) for k in c.__dataclass_fields__},
        }

    def describe(self) -> dict[str, Any]:
        return dict(self._description)

    # --- the descriptor ---------------------------------------------------------------------
    def _canonical(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        s = self.config.canonical
        out = np.empty((len(images), s, s, 3), np.uint8)
        aspect = np.empty(len(images), np.float32)
        for i, im in enumerate(images):
            h, w = im.shape[:2]
            aspect[i] = np.log(w / h)
            interp = cv2.INTER_AREA if (h > s or w > s) else cv2.INTER_LINEAR
            out[i] = cv2.resize(im, (s, s), interpolation=interp)
        return out, aspect

    def _embed_batch(self, images: list[np.ndarray]) -> np.ndarray:
        c = self.config
        n, s, o = len(images), c.canonical, c.orientations
        canon, log_aspect = self._canonical(images)
        x = _smooth(canon.astype(np.float32))  # (n, s, s, 3)

        # gradients per channel; keep the channel with the strongest edge at each pixel
        p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        gx = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
        gy = p[:, 2:, 1:-1] - p[:, :-2, 1:-1]
        m2 = gx * gx + gy * gy
        best = np.argmax(m2, axis=3)[..., None]
        gx = np.take_along_axis(gx, best, 3)[..., 0].reshape(n, s * s)
        gy = np.take_along_axis(gy, best, 3)[..., 0].reshape(n, s * s)
        mag = np.sqrt(np.take_along_axis(m2, best, 3)[..., 0].reshape(n, s * s))

        # unsigned orientation, soft-binned between the two nearest bins
        theta = np.arctan2(gy, gx)
        b = (theta % np.pi) * (o / np.pi)
        b0 = np.floor(b)
        frac = (b - b0).astype(np.float32)
        b0i = b0.astype(np.int64) % o
        b1i = (b0i + 1) % o
        base = (np.arange(n, dtype=np.int64)[:, None] * o) * (s * s) + np.arange(s * s, dtype=np.int64)[None, :]
        size = n * o * s * s
        hist = np.bincount((base + b0i * s * s).ravel(), weights=(mag * (1.0 - frac)).ravel(), minlength=size)
        hist += np.bincount((base + b1i * s * s).ravel(), weights=(mag * frac).ravel(), minlength=size)
        maps = hist.astype(np.float32).reshape(n * o, s * s)

        pooled = (maps @ self._pool).reshape(n, o, -1).transpose(0, 2, 1)  # (n, cells, o)
        # contrast normalisation: each cell against the crop's mean edge energy
        energy = mag.mean(axis=1)[:, None, None] + 1.0
        pooled = np.power(pooled / energy, c.gamma)
        nf, nc = c.fine_grid ** 2, c.coarse_grid ** 2
        fine = pooled[:, :nf].reshape(n, -1)
        coarse = pooled[:, nf:nf + nc].reshape(n, -1)
        glob = pooled[:, nf + nc:].reshape(n, -1)

        # ink: distance of each pixel to the background (median of the border), pooled
        gray = x.mean(axis=3)
        border = np.concatenate([gray[:, 0, :], gray[:, -1, :], gray[:, :, 0], gray[:, :, -1]], axis=1)
        bg = np.median(border, axis=1)
        ink = np.abs(gray - bg[:, None, None]).reshape(n, s * s)
        ink_pooled = np.power((ink @ self._ink_pool) / (ink.mean(axis=1, keepdims=True) + 4.0), c.gamma)

        # aspect ratio, soft-binned on a log scale
        d = (np.clip(log_aspect, -2.4, 2.4)[:, None] - self._aspect_centres[None, :]) / self._aspect_sigma
        aspect = np.exp(-0.5 * d * d)

        # colourfulness (inversion-invariant): chroma histogram and mean chroma
        chroma = (canon.max(axis=3).astype(np.float32) - canon.min(axis=3)).reshape(n, s * s)
        edges = (0.0, *_COLOUR_EDGES, 256.0)
        colour = np.stack(
            [((chroma >= lo) & (chroma < hi)).mean(axis=1) for lo, hi in itertools.pairwise(edges)]
            + [chroma.mean(axis=1) / 64.0],
            axis=1,
        )

        blocks = [(fine, c.w_fine), (coarse, c.w_coarse), (glob, c.w_global), (ink_pooled, c.w_ink),
                  (aspect, c.w_aspect), (colour, c.w_colour)]
        out = np.concatenate([_unit(v) * w for v, w in blocks], axis=1)
        return out.astype(np.float32, copy=False)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
