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
* **contrast**: every cell's orientation histogram is normalised by its own energy (damped by the
  crop's mean, so empty cells stay quiet) and power-normalised (square root): faint and bold
  renderings of one label agree, and the shared frame of a button does not drown its label.

* **frames and layout**: a second, "content" view finds the crop's content (connected groups
  of strong edges that neither touch the border nor span the crop, i.e. not frames or
  neighbours), cuts it out of the original pixels and describes it on its own canonical square,
  so a label is compared with a label even when the frame, padding or font size around it
  changed.

It still tells icons and labels apart through the spatial layout of oriented edges (an 8x8 grid
of 6 orientations, plus 3x3 and global levels, and 4x4 on the content), the layout of "ink",
the aspect ratios and, weakly, how colourful a crop is.

The whole batch is processed as stacked arrays (one ``cv2.resize`` per crop, then numpy); the
pooling is one matrix product, so batching is much faster than one crop at a time.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
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
    fine_grid: int = 8
    coarse_grid: int = 3
    content_canonical: int = 32
    content_grid: int = 5
    orientations: int = 6
    ink_grid: int = 6
    aspect_bins: int = 11
    gamma: float = 0.5  # power normalisation of pooled histograms
    centre: float = 0.7  # subtract this share of each spatial block's own mean (1: cosine = correlation)
    edge_fade: float = 0.0  # fraction of the side over which edges fade out towards the crop border
    cell_norm: float = 0.1  # each cell / (its norm + cell_norm x the crop's mean cell norm); 0: crop energy
    w_fine: float = 1.0
    w_coarse: float = 0.6
    w_global: float = 0.3
    w_content: float = 1.2
    w_content_shape: float = 0.3
    w_ink: float = 0.6
    w_aspect: float = 0.45
    w_colour: float = 0.2

    def __post_init__(self) -> None:
        if not 16 <= self.canonical <= 256:
            raise ValidationError("canonical size must be in [16, 256]", field="canonical", value=self.canonical)
        if not 8 <= self.content_canonical <= 128:
            raise ValidationError("content_canonical must be in [8, 128]", field="content_canonical",
                                  value=self.content_canonical)
        for f in ("fine_grid", "coarse_grid", "ink_grid", "content_grid"):
            g = getattr(self, f)
            if not 1 <= g <= self.canonical // 2:
                raise ValidationError(f"{f} must be in [1, canonical/2]", field=f, value=g)
        if not 2 <= self.orientations <= 32:
            raise ValidationError("orientations must be in [2, 32]", field="orientations", value=self.orientations)
        if self.aspect_bins < 2:
            raise ValidationError("aspect_bins must be >= 2", field="aspect_bins", value=self.aspect_bins)
        if not (np.isfinite(self.cell_norm) and self.cell_norm >= 0):
            raise ValidationError("cell_norm must be >= 0", field="cell_norm", value=self.cell_norm)
        if not 0 <= self.centre <= 1:
            raise ValidationError("centre must be in [0, 1]", field="centre", value=self.centre)
        if not 0 < self.gamma <= 1:
            raise ValidationError("gamma must be in (0, 1]", field="gamma", value=self.gamma)
        for f in ("w_fine", "w_coarse", "w_global", "w_content", "w_content_shape", "w_ink", "w_aspect",
                  "w_colour"):
            w = getattr(self, f)
            if not (np.isfinite(w) and w >= 0):
                raise ValidationError(f"{f} must be a finite number >= 0", field=f, value=w)

    @property
    def dim(self) -> int:
        o = self.orientations
        return (o * (self.fine_grid ** 2 + self.coarse_grid ** 2 + 1 + self.content_grid ** 2)
                + self.aspect_bins + 2 + self.ink_grid ** 2 + self.aspect_bins + _COLOUR_DIM)


_DETECT_HEIGHT = 32  # content is looked for on a copy of this height ...
_DETECT_MAX_WIDTH = 192  # ... and at most this wide
_COLOUR_EDGES = (12.0, 40.0, 90.0)  # chroma (0-255) bin edges
_COLOUR_DIM = len(_COLOUR_EDGES) + 2  # histogram + mean chroma


def _tent_weights(size: int, grid: int, spread: float = 1.5) -> np.ndarray:
    """``(size, grid)`` 1-D weights pooling a line of pixels into overlapping tent windows."""
    cell = size / grid
    centres = (np.arange(grid) + 0.5) * cell
    u = np.arange(size) + 0.5
    w1 = np.maximum(0.0, 1.0 - np.abs(u[:, None] - centres[None, :]) / (cell * spread))
    return (w1 / w1.sum(axis=0, keepdims=True)).astype(np.float32)


class _Pooler:
    """Separable tent pooling of square maps at several grid sizes.

    Two small matrix products (x, then y) instead of one ``(s*s, cells)`` product: ~5x fewer
    operations, and small enough for one crop that BLAS stays on one thread (waking BLAS
    threads for a single crop costs more than the work on a busy machine)."""

    def __init__(self, size: int, grids: tuple[int, ...]) -> None:
        self.size = size
        self.grids = grids
        self.w = np.concatenate([_tent_weights(size, g) for g in grids], axis=1)  # (s, G)
        self.offsets = np.cumsum((0, *grids))

    def __call__(self, maps: np.ndarray) -> list[np.ndarray]:
        """``maps`` (N, s, s) -> per grid ``(N, g*g)``."""
        n, s = maps.shape[0], self.size
        gx = (maps.reshape(n * s, s) @ self.w).reshape(n, s, -1)  # pool along x: (N, y, G)
        gt = np.ascontiguousarray(gx.transpose(0, 2, 1)).reshape(-1, s)  # (N*G, y)
        gxy = (gt @ self.w).reshape(n, self.w.shape[1], -1)  # pool along y: (N, Gx, Gy)
        out = []
        for g, o in zip(self.grids, self.offsets[:-1], strict=True):
            out.append(gxy[:, o:o + g, o:o + g].reshape(n, g * g))
        return out


class BuiltinEncoder(Encoder):
    """Weight-free, theme-, scale- and shift-tolerant embedding for GUI crops."""

    name = "builtin"
    batch_size = 256

    #: A batch is split over threads only from this many crops on (OpenCV and numpy release the GIL).
    min_crops_per_thread = 32

    def __init__(self, config: BuiltinConfig | None = None, batch_size: int = 256,
                 threads: int | None = None) -> None:
        self.config = config or BuiltinConfig()
        if batch_size <= 0:
            raise ValidationError(f"batch size must be > 0, got {batch_size}", field="batch_size")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValidationError(f"threads must be an int >= 1, got {threads!r}", field="threads")
        self.batch_size = int(batch_size)
        # Every crop's vector depends on that crop alone, so splitting a batch changes nothing.
        self.threads = threads if threads is not None else max(1, min(2, os.cpu_count() or 1))
        self._pool_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self.dim = self.config.dim
        c = self.config
        self._pool = _Pooler(c.canonical, (c.fine_grid, c.coarse_grid, 1))
        self._ink_pool = _Pooler(c.canonical, (c.ink_grid,))
        u = (np.arange(c.canonical) + 0.5) / c.canonical
        fade = np.clip(np.minimum(u, 1.0 - u) / c.edge_fade, 0.0, 1.0) if c.edge_fade > 0 else np.ones_like(u)
        self._fade = np.outer(fade, fade).astype(np.float32).reshape(-1)
        self._content_pool = _Pooler(c.content_canonical, (c.content_grid,))
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
    def _canonical(self, images: list[np.ndarray], s: int) -> np.ndarray:
        out = np.empty((len(images), s, s, 3), np.uint8)
        for i, im in enumerate(images):
            h, w = im.shape[:2]
            interp = cv2.INTER_AREA if (h > s or w > s) else cv2.INTER_LINEAR
            out[i] = cv2.resize(im, (s, s), interpolation=interp)
        return out

    def _gradients(self, canon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Smoothed gray ``(n, s, s)``, gradient magnitude and angle ``(n, s*s)`` of the colour
        channel with the strongest edge at each pixel. The batch is stacked into one tall image
        (each crop padded by replication) so OpenCV runs once per batch, not once per crop."""
        n, s = canon.shape[0], canon.shape[1]
        q = s + 4
        tall = cv2.copyMakeBorder(canon.reshape(n * s, s, 3), 0, 0, 2, 2, cv2.BORDER_REPLICATE)
        tall = tall.reshape(n, s, q, 3)
        tall = np.concatenate([tall[:, :1], tall[:, :1], tall, tall[:, -1:], tall[:, -1:]], axis=1)
        tall = tall.reshape(n * q, q, 3).astype(np.float32)
        blur = cv2.GaussianBlur(tall, (3, 3), 0.85)
        gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=1)
        gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=1)
        inner = (slice(None), slice(2, -2), slice(2, -2))
        gx = np.ascontiguousarray(gx.reshape(n, q, q, 3)[inner]).reshape(n * s, s * 3)
        gy = np.ascontiguousarray(gy.reshape(n, q, q, 3)[inner]).reshape(n * s, s * 3)
        mag3, ang3 = cv2.cartToPolar(gx, gy)
        m = mag3.reshape(n, s * s, 3)
        a = ang3.reshape(n, s * s, 3)
        m0, m1, m2 = m[..., 0], m[..., 1], m[..., 2]
        first = (m0 >= m1) & (m0 >= m2)
        second = m1 >= m2
        mag = np.where(first, m0, np.where(second, m1, m2))
        ang = np.where(first, a[..., 0], np.where(second, a[..., 1], a[..., 2]))
        g = blur.reshape(n, q, q, 3)[inner]
        gray = (g[..., 0] + g[..., 1] + g[..., 2]) * (1.0 / 3.0)
        return gray, mag, ang

    def _hog(self, mag: np.ndarray, ang: np.ndarray, pool: _Pooler, fade: np.ndarray | None) -> np.ndarray:
        """Pooled, normalised histograms of unsigned orientation ``(n, cells, o)``."""
        c = self.config
        n, ss, o = mag.shape[0], mag.shape[1], c.orientations
        if fade is not None:
            mag = mag * fade
        # unsigned orientation (mod 180 degrees), soft-binned between the two nearest bins
        b = np.where(ang >= np.pi, ang - np.pi, ang) * (o / np.pi)
        b0i = np.minimum(b.astype(np.intp), o - 1)  # b >= 0: truncation is floor
        frac = b - b0i
        b1i = b0i + 1
        b1i[b1i == o] = 0
        base = (np.arange(n, dtype=np.intp)[:, None] * (o * ss)) + np.arange(ss, dtype=np.intp)[None, :]
        # every pixel lands in two different bins, so plain (not accumulating) assignment is exact
        hist = np.zeros(n * o * ss, np.float32)
        w1 = (mag * frac).astype(np.float32)
        hist[(base + b0i * ss).ravel()] = (mag - w1).ravel()
        hist[(base + b1i * ss).ravel()] = w1.ravel()
        side = pool.size
        maps = hist.reshape(n * o, side, side)
        pooled = np.concatenate(pool(maps), axis=1).reshape(n, o, -1).transpose(0, 2, 1)  # (n, cells, o)
        if c.cell_norm > 0:  # each cell against its own energy, damped by the crop's mean
            norms = np.linalg.norm(pooled, axis=2, keepdims=True)
            pooled = pooled / (norms + c.cell_norm * norms.mean(axis=1, keepdims=True) + 1e-3)
        else:
            pooled = pooled / (mag.mean(axis=1)[:, None, None] + 1.0)
        return np.power(pooled, c.gamma)

    @staticmethod
    def _content_box(crop: np.ndarray) -> tuple[int, int, int, int]:
        """The box (crop pixels) around a crop's content.

        Looked for on a copy resized to a fixed height (aspect kept, width capped), so the
        answer does not depend on the crop's scale: strong edges, minus rows and columns that
        are edge across most of the crop (frames, separators), grouped into connected
        components; rings around the whole crop (what is left of a frame) and components lying
        entirely in a band along the border (frame corners, neighbours cut by the crop) are
        dropped. The whole crop when nothing is left.
        """
        h, w = crop.shape[:2]
        dh = _DETECT_HEIGHT
        dw = int(min(_DETECT_MAX_WIDTH, max(8, round(dh * w / h))))
        img = cv2.resize(crop, (dw, dh), interpolation=cv2.INTER_AREA if h > dh else cv2.INTER_LINEAR)
        img = cv2.GaussianBlur(img.astype(np.float32), (3, 3), 0.85)
        gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=1)
        gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=1)
        mag = np.sqrt(gx * gx + gy * gy).max(axis=2)
        strong = mag > max(0.2 * float(mag.max()), 6.0)
        # frame lines: rows/columns that are edge across most of the crop, near its border only
        # (the dense middle rows of a tightly cropped label are not lines)
        ry = np.arange(dh)
        near_y = (ry < 0.3 * dh) | (ry >= 0.7 * dh)
        rx = np.arange(dw)
        near_x = (rx < min(0.3 * dw, 0.5 * dh)) | (rx >= dw - min(0.3 * dw, 0.5 * dh))
        line_rows = (strong.mean(axis=1) > 0.6) & near_y
        line_cols = (strong.mean(axis=0) > 0.6) & near_x
        strong &= ~line_rows[:, None]
        strong &= ~line_cols[None, :]
        count, _, st, _ = cv2.connectedComponentsWithStats(strong.astype(np.uint8), connectivity=8)
        st = st[1:count]
        x0, y0, cw, ch, area = st[:, 0], st[:, 1], st[:, 2], st[:, 3], st[:, 4]
        band_h = max(2.0, 0.18 * dh)
        band_w = min(max(2.0, 0.06 * dw), band_h)
        in_band = (x0 + cw <= band_w) | (x0 >= dw - band_w) | (y0 + ch <= band_h) | (y0 >= dh - band_h)
        ring = (cw > 0.85 * dw) & (ch > 0.85 * dh)
        keep = (area >= 2) & ~ring & ~in_band
        if not keep.any():
            return (0, 0, w, h)
        k = st[keep]
        cx0, cy0 = int(k[:, 0].min()), int(k[:, 1].min())
        cx1, cy1 = int((k[:, 0] + k[:, 2]).max()), int((k[:, 1] + k[:, 3]).max())
        bx0 = max(0, int(np.floor((cx0 - 1) * w / dw)))
        bx1 = min(w, int(np.ceil((cx1 + 1) * w / dw)))
        by0 = max(0, int(np.floor((cy0 - 1) * h / dh)))
        by1 = min(h, int(np.ceil((cy1 + 1) * h / dh)))
        return (bx0, by0, max(bx1, bx0 + 1), max(by1, by0 + 1))

    def _soft_bins(self, log_ratio: np.ndarray) -> np.ndarray:
        d = (np.clip(log_ratio, -2.4, 2.4)[:, None] - self._aspect_centres[None, :]) / self._aspect_sigma
        return np.exp(-0.5 * d * d)

    def _embed_batch(self, images: list[np.ndarray]) -> np.ndarray:
        n = len(images)
        parts = min(self.threads, n // self.min_crops_per_thread)
        if parts <= 1:
            return self._describe(images)
        with self._pool_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="builtin-encoder")
            ex = self._executor
        bounds = np.linspace(0, n, parts + 1).astype(int)
        futures = [ex.submit(self._describe, images[a:b]) for a, b in itertools.pairwise(bounds.tolist())]
        return np.concatenate([f.result() for f in futures], axis=0)

    def _describe(self, images: list[np.ndarray]) -> np.ndarray:
        c = self.config
        n, s = len(images), c.canonical
        sizes = np.array([im.shape[:2] for im in images], np.float64)
        canon = self._canonical(images, s)
        gray, mag, ang = self._gradients(canon)
        pooled = self._hog(mag, ang, self._pool, self._fade)
        nf, nc = c.fine_grid ** 2, c.coarse_grid ** 2
        fine = pooled[:, :nf].reshape(n, -1)
        coarse = pooled[:, nf:nf + nc].reshape(n, -1)
        glob = pooled[:, nf + nc:].reshape(n, -1)

        # the content view: the crop's content (label, glyph) without its frame, re-canonicalised
        boxes = [self._content_box(im) for im in images]
        inner = [im[y0:y1, x0:x1] for im, (x0, y0, x1, y1) in zip(images, boxes, strict=True)]
        _, cmag, cang = self._gradients(self._canonical(inner, c.content_canonical))
        content = self._hog(cmag, cang, self._content_pool, None)
        content = content.reshape(n, -1)
        bw = np.array([b[2] - b[0] for b in boxes], np.float64)
        bh = np.array([b[3] - b[1] for b in boxes], np.float64)
        content_shape = np.concatenate([self._soft_bins(np.log(bw / bh)),
                                        np.stack([bw / sizes[:, 1], bh / sizes[:, 0]], axis=1)], axis=1)

        # ink: distance of each pixel to the background (median of the border), pooled
        border = np.concatenate([gray[:, 0, :], gray[:, -1, :], gray[:, :, 0], gray[:, :, -1]], axis=1)
        bg = np.median(border, axis=1)
        ink = np.abs(gray - bg[:, None, None]).astype(np.float32)
        ink_pooled = np.power(self._ink_pool(ink)[0] / (ink.mean(axis=(1, 2))[:, None] + 4.0), c.gamma)

        aspect = self._soft_bins(np.log(sizes[:, 1] / sizes[:, 0]))

        # colourfulness (inversion-invariant): chroma histogram and mean chroma
        cb, cg, cr = canon[..., 0], canon[..., 1], canon[..., 2]
        chroma = (np.maximum(np.maximum(cb, cg), cr).astype(np.float32)
                  - np.minimum(np.minimum(cb, cg), cr)).reshape(n, s * s)
        edges = (0.0, *_COLOUR_EDGES, 256.0)
        colour = np.stack(
            [((chroma >= lo) & (chroma < hi)).mean(axis=1) for lo, hi in itertools.pairwise(edges)]
            + [chroma.mean(axis=1) / 64.0],
            axis=1,
        )

        blocks = [(fine, c.w_fine), (coarse, c.w_coarse), (glob, c.w_global), (content, c.w_content),
                  (content_shape, c.w_content_shape), (ink_pooled, c.w_ink), (aspect, c.w_aspect),
                  (colour, c.w_colour)]
        spatial = {id(fine), id(coarse), id(content), id(ink_pooled)}
        if c.centre > 0:  # non-negative histograms all look alike to a cosine; correlations do not
            blocks = [(v - c.centre * v.mean(axis=1, keepdims=True) if id(v) in spatial else v, w)
                      for v, w in blocks]
        out = np.concatenate([_unit(v) * w for v, w in blocks], axis=1)
        return out.astype(np.float32, copy=False)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
