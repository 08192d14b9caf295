"""Synthetic GUI pixels with known truth, for tests and benchmarks that need no X server."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def lookalike_icon(variant: int, rng: np.random.Generator, size: int = 32, dark: bool = False) -> np.ndarray:
    """A gear-like icon; variants 0 and 1 differ only by a 3x3 notch in one corner.

    Each call perturbs it (shift of ±2 px, brightness, noise, optional dark theme) by more than
    the difference between the variants, so a naive pixel embedding confuses them."""
    img = np.full((size, size, 3), 235, np.uint8)
    c = size // 2 + int(rng.integers(-2, 3))
    r = size // 2 + int(rng.integers(-2, 3))
    cv2.circle(img, (c, r), size // 3, (60, 60, 60), 2)
    cv2.circle(img, (c, r), size // 8, (60, 60, 60), -1)
    if variant == 1:
        cv2.rectangle(img, (size - 6, 2), (size - 4, 4), (60, 60, 60), -1)
    noisy = img.astype(np.float32) * float(rng.uniform(0.8, 1.1)) + rng.normal(0, 12, img.shape)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    return 255 - out if dark else out


def pixel_embed(images: Sequence[np.ndarray]) -> np.ndarray:
    """A deliberately weak base embedding: a blurred 16x16 gray thumbnail, mean-removed, L2-normalised."""
    out = []
    for im in images:
        g = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) if im.ndim == 3 else im
        g = cv2.resize(cv2.GaussianBlur(g, (5, 5), 0), (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
        g = g.ravel() - g.mean()
        out.append(g / (np.linalg.norm(g) + 1e-6))
    return np.asarray(out, np.float32).reshape(len(out), 256)
