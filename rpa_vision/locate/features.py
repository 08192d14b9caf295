"""Pixel features the Locator compares: polarity-free gradients, normalised correlation, a small
orientation descriptor, and the surroundings ("context") of a box.

Gradient magnitude ignores which side of an edge is light, so a dark theme (or any colour swap)
keeps the structure of a widget; gray correlation is taken in absolute value for the same reason.
"""

from __future__ import annotations

import cv2
import numpy as np

from rpa_vision.core.geometry import Box


def gray_of(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return bgr
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


_SMOOTH = np.array([0.25, 0.5, 0.25], np.float32)  # the 3x3 Gaussian (sigma 0) as one row


def gradient(gray: np.ndarray) -> np.ndarray:
    """Float32 gradient magnitude (|dx| + |dy| of a lightly smoothed image), polarity-free.

    The smoothing reads the 8-bit image straight into float (no float copy first) and the sum
    is formed in place: a 1080p screen allocates 24 MB here instead of 56 (the values are
    bit-identical to a float ``GaussianBlur`` and ``abs(dx) + abs(dy)``)."""
    if min(gray.shape[:2]) >= 3:
        g = cv2.sepFilter2D(gray, cv2.CV_32F, _SMOOTH, _SMOOTH)
    else:
        g = gray.astype(np.float32)
    dx: np.ndarray = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    dy: np.ndarray = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    np.abs(dx, out=dx)
    np.abs(dy, out=dy)
    np.add(dx, dy, out=dx)
    return dx


def resize_to(img: np.ndarray, w: float, h: float) -> np.ndarray:
    w, h = max(1, int(round(w))), max(1, int(round(h)))
    if img.shape[1] == w and img.shape[0] == h:
        return img
    shrink = w * h < img.shape[0] * img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Zero-mean normalised correlation of two equally sized arrays, in [-1, 1].

    Two flat patches correlate 1 when equally flat (a blank field matches a blank field) and 0
    when only one is flat."""
    x = a.astype(np.float32).ravel()
    y = b.astype(np.float32).ravel()
    if mask is not None:
        m = mask.ravel() > 0
        x, y = x[m], y[m]
    return _Normed(x).ncc(y)


def _int_box(box: Box) -> tuple[int, int, int, int]:
    """``box`` rounded to whole pixels, at least one pixel wide and high (what every crop cuts)."""
    x1, y1 = int(round(box.x1)), int(round(box.y1))
    return x1, y1, max(x1 + 1, int(round(box.x2))), max(y1 + 1, int(round(box.y2)))


def crop_padded(img: np.ndarray, box: Box) -> np.ndarray:
    """Pixels inside ``box`` (integer-rounded); parts outside the image are zero."""
    x1, y1, x2, y2 = _int_box(box)
    h, w = img.shape[:2]
    out = np.zeros((y2 - y1, x2 - x1, *img.shape[2:]), img.dtype)
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = img[sy1:sy2, sx1:sx2]
    return out


class _Normed:
    """One side of ``ncc`` computed once: the zero-mean values and their norm."""

    __slots__ = ("centred", "norm", "size")

    def __init__(self, a: np.ndarray) -> None:
        x = a.astype(np.float32).ravel()
        self.size = x.size
        self.centred = x - x.mean() if x.size else x
        self.norm = float(np.sqrt(np.dot(self.centred, self.centred))) if x.size else 0.0

    def ncc(self, b: np.ndarray) -> float:
        """``ncc(a, b)`` for the ``a`` this was made from (same flat-patch rules)."""
        y = b.astype(np.float32).ravel()
        if self.size < 2:
            return 0.0
        y = y - y.mean()
        ny = float(np.sqrt(np.dot(y, y)))
        tiny = 1e-3 * np.sqrt(self.size)
        if self.norm < tiny and ny < tiny:
            return 1.0
        if self.norm < tiny or ny < tiny:
            return 0.0
        return float(np.dot(self.centred, y) / (self.norm * ny))


class Appearance:
    """How alike a candidate patch looks to a template: the template's side (its smoothed gray
    and gradient, centred and normed) prepared once, as a locate scores a hundred candidates or
    more against the same template."""

    def __init__(self, t_gray: np.ndarray, t_grad: np.ndarray) -> None:
        self.h, self.w = t_gray.shape[:2]
        self.k = (3, 3) if min(self.h, self.w) >= 6 else (1, 1)
        self._gray = _Normed(cv2.GaussianBlur(t_gray, self.k, 0))
        self._grad = _Normed(cv2.GaussianBlur(t_grad, self.k, 0))

    def score(self, c_gray: np.ndarray) -> tuple[float, float]:
        """(gray |ncc|, gradient ncc) of a candidate patch resized to the template's size (its
        gradient taken after resizing, like the template's)."""
        cg = resize_to(c_gray, self.w, self.h)
        cd = gradient(cg)
        g = abs(self._gray.ncc(cv2.GaussianBlur(cg, self.k, 0)))
        d = self._grad.ncc(cv2.GaussianBlur(cd, self.k, 0))
        return g, d


class LazyGradient:
    """``gradient(gray)`` of a large image, computed only inside the boxes asked for: a locate
    needs the recorded screen's gradient around the target and its window, not all of it.
    ``crop(box)`` equals ``crop_padded(gradient(gray), box)`` exactly (a 2-pixel margin feeds
    the 3x3 smoothing and the 3x3 Sobel; at the image's edges the same border rule applies)."""

    _MARGIN = 2

    def __init__(self, gray: np.ndarray) -> None:
        if gray.ndim != 2:
            raise ValueError("LazyGradient needs a single-channel image")
        self.gray = gray
        self.shape: tuple[int, int] = (gray.shape[0], gray.shape[1])

    def crop(self, box: Box) -> np.ndarray:
        x1, y1, x2, y2 = _int_box(box)
        h, w = self.shape
        m = self._MARGIN
        ex1, ey1, ex2, ey2 = max(0, x1 - m), max(0, y1 - m), min(w, x2 + m), min(h, y2 + m)
        if ex2 - ex1 < 1 or ey2 - ey1 < 1 or x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            return np.zeros((y2 - y1, x2 - x1), np.float32)
        part = gradient(self.gray[ey1:ey2, ex1:ex2])
        return crop_padded(part, Box(x1 - ex1, y1 - ey1, x2 - ex1, y2 - ey1))


def orientation_descriptor(bgr: np.ndarray, cells: int = 4, bins: int = 8, size: int = 32) -> np.ndarray:
    """A weight-free L2-normalised descriptor: unsigned gradient-orientation histograms on a grid
    plus a coarse gradient-energy thumbnail. Unsigned orientations make it theme-invariant."""
    g = resize_to(gray_of(bgr), size, size).astype(np.float32)
    dx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(dx, dy)
    ang = np.mod(ang, np.pi)
    idx = np.minimum((ang / np.pi * bins).astype(np.int32), bins - 1)
    step = size // cells
    feats = []
    for cy in range(cells):
        for cx in range(cells):
            sl = (slice(cy * step, (cy + 1) * step), slice(cx * step, (cx + 1) * step))
            feats.append(np.bincount(idx[sl].ravel(), weights=mag[sl].ravel(), minlength=bins))
    v = np.concatenate(feats).astype(np.float32)
    v = np.sqrt(v)  # Hellinger-style damping of strong edges
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else v


def _inside(shape: tuple[int, int], box: Box) -> np.ndarray:
    """``crop_padded(np.ones(shape, np.uint8), box)`` without the image-sized array of ones."""
    x1, y1, x2, y2 = _int_box(box)
    h, w = shape
    out = np.zeros((y2 - y1, x2 - x1), np.uint8)
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = 1
    return out


def context_similarity(
    ref_grad: LazyGradient,
    target_box: Box,
    screen_grad: np.ndarray,
    cand_box: Box,
    factor: float,
    max_side: int = 96,
) -> float:
    """How alike the surroundings of the target (in the reference) and of a candidate (on the
    screen) are: gradient correlation over a ring ``factor * sqrt(w * h)`` wide around each box, the
    boxes themselves masked out, the candidate's ring rescaled to the reference's."""
    tw, th = target_box.width, target_box.height
    m = factor * float(np.sqrt(tw * th))
    ring_t = Box(target_box.x1 - m, target_box.y1 - m, target_box.x2 + m, target_box.y2 + m)
    sx, sy = cand_box.width / max(tw, 1e-6), cand_box.height / max(th, 1e-6)
    ring_c = Box(cand_box.x1 - m * sx, cand_box.y1 - m * sy, cand_box.x2 + m * sx, cand_box.y2 + m * sy)
    a = ref_grad.crop(ring_t)
    b = crop_padded(screen_grad, ring_c)
    s = min(1.0, max_side / max(a.shape[:2]))
    w, h = max(4, int(round(a.shape[1] * s))), max(4, int(round(a.shape[0] * s)))
    a = resize_to(a, w, h)
    b = resize_to(b, w, h)
    a = cv2.GaussianBlur(a, (5, 5), 0)
    b = cv2.GaussianBlur(b, (5, 5), 0)
    mask = np.ones((h, w), np.uint8)
    fx, fy = w / ring_t.width, h / ring_t.height
    ix1, iy1 = int(round(m * fx)), int(round(m * fy))
    ix2, iy2 = int(round((m + tw) * fx)), int(round((m + th) * fy))
    mask[max(0, iy1) : iy2, max(0, ix1) : ix2] = 0
    # Parts of the reference ring outside the reference are unknown: leave them out.
    mask &= resize_to(_inside(ref_grad.shape, ring_t), w, h)
    if int(mask.sum()) < 16:
        return 0.0
    whole = ncc(a, b, mask)
    # Each side on its own too: a look-alike differs on one side (its label), a restyle on all.
    sides = []
    for sl in ((slice(None), slice(0, max(1, ix1))), (slice(None), slice(min(w - 1, ix2), None)),
               (slice(0, max(1, iy1)), slice(None)), (slice(min(h - 1, iy2), None), slice(None))):
        side_mask = mask[sl]
        if int(side_mask.sum()) >= 16:
            sides.append(ncc(a[sl], b[sl], side_mask))
    if not sides:
        return whole
    return 0.5 * (whole + min(sides))
