"""Pixel features: the lazily computed gradient equals the whole image's, and the prepared
template side of ``Appearance`` gives what the plain correlation gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpa_vision.core.geometry import Box
from rpa_vision.locate.features import Appearance, LazyGradient, crop_padded, gradient, ncc, resize_to


def _image(seed: int = 0, shape: tuple[int, int] = (120, 200)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (5, 5), 0)
    cv2.rectangle(img, (30, 20), (90, 60), 0, 2)
    cv2.putText(img, "Ok", (120, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 1)
    return img


@pytest.mark.parametrize("box", [
    Box(30, 20, 90, 60),  # inside
    Box(0, 0, 40, 30),  # touching the top-left corner
    Box(150, 90, 200, 120),  # touching the bottom-right corner
    Box(-15, -10, 25, 20),  # partly outside: zeros there, like crop_padded
    Box(180.4, 100.6, 230.2, 140.7),  # fractional, partly outside
    Box(300, 300, 320, 310),  # wholly outside
    Box(0, 0, 200, 120),  # the whole image
])
def test_lazy_gradient_equals_the_whole_gradient(box: Box) -> None:
    img = _image()
    want = crop_padded(gradient(img), box)
    got = LazyGradient(img).crop(box)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_lazy_gradient_wants_one_channel() -> None:
    with pytest.raises(ValueError):
        LazyGradient(np.zeros((10, 10, 3), np.uint8))


def _ref_ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Zero-mean normalised correlation written out in float64 (flat patches: 1 if both, 0 if one)."""
    x, y = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if mask is not None:
        x, y = x[mask.ravel() > 0], y[mask.ravel() > 0]
    if x.size < 2:
        return 0.0
    x, y = x - x.mean(), y - y.mean()
    nx, ny, tiny = np.linalg.norm(x), np.linalg.norm(y), 1e-3 * np.sqrt(x.size)
    if nx < tiny or ny < tiny:
        return 1.0 if nx < tiny and ny < tiny else 0.0
    return float(x @ y / (nx * ny))


def _plain(t_gray: np.ndarray, c_gray: np.ndarray) -> tuple[float, float]:
    """The correlation written out without any preparation."""
    h, w = t_gray.shape
    cg = resize_to(c_gray, w, h)
    k = (3, 3) if min(h, w) >= 6 else (1, 1)
    g = abs(_ref_ncc(cv2.GaussianBlur(t_gray, k, 0), cv2.GaussianBlur(cg, k, 0)))
    d = _ref_ncc(cv2.GaussianBlur(gradient(t_gray), k, 0), cv2.GaussianBlur(gradient(cg), k, 0))
    return g, d


@pytest.mark.parametrize("masked", [False, True])
def test_ncc_is_the_zero_mean_normalised_correlation(masked: bool) -> None:
    img = _image(5)
    a, b = img[10:50, 20:80], img[12:52, 25:85]
    mask = (np.arange(a.size).reshape(a.shape) % 3 > 0).astype(np.uint8) if masked else None
    assert ncc(a, b, mask) == pytest.approx(_ref_ncc(a, b, mask), abs=1e-5)
    assert ncc(a, a, mask) == pytest.approx(1.0, abs=1e-5)
    assert ncc(a, 255 - a, mask) == pytest.approx(-1.0, abs=1e-5)
    flat = np.full_like(a, 7)
    assert ncc(flat, flat + 3, mask) == 1.0 and ncc(flat, a, mask) == 0.0
    assert ncc(a[:1, :1], b[:1, :1]) == 0.0  # too few values


@pytest.mark.parametrize("cand", [Box(30, 20, 90, 60), Box(28, 22, 95, 58), Box(110, 55, 170, 95),
                                  Box(0, 0, 4, 3)])
def test_appearance_matches_the_plain_correlation(cand: Box) -> None:
    img = _image(1)
    t = img[20:60, 30:90]
    app = Appearance(t, gradient(t))
    got = app.score(crop_padded(img, cand))
    want = _plain(t, crop_padded(img, cand))
    assert got == pytest.approx(want, abs=1e-5)


def test_appearance_of_flat_patches() -> None:
    flat = np.full((20, 30), 128, np.uint8)
    app = Appearance(flat, gradient(flat))
    assert app.score(np.full((20, 30), 40, np.uint8)) == (1.0, 1.0)  # both flat: alike
    g, d = app.score(_image(2)[:20, :30])
    assert g == 0.0 and d == 0.0  # only one flat: no evidence either way
    small = _image(3)[:4, :5]
    assert Appearance(small, gradient(small)).score(small)[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("shape", [(120, 200), (3, 3), (2, 9), (1, 1)])
def test_gradient_is_the_smoothed_l1_sobel_magnitude(shape: tuple[int, int]) -> None:
    img = _image(4, shape) if min(shape) >= 3 else np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    g = img.astype(np.float32)
    if min(shape) >= 3:
        g = cv2.GaussianBlur(g, (3, 3), 0)
    want = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    got = gradient(img)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert np.array_equal(gradient(img.astype(np.float32)), want)  # float input alike


@pytest.mark.parametrize("box", [Box(10, 10, 50, 40), Box(-20, -5, 30, 30), Box(180.6, 100.2, 260.4, 150.5),
                                 Box(400, 400, 420, 410)])
def test_inside_mask_is_the_crop_of_ones(box: Box) -> None:
    from rpa_vision.locate.features import _inside

    assert np.array_equal(_inside((120, 200), box), crop_padded(np.ones((120, 200), np.uint8), box))
