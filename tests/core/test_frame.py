"""Frames: validation, channel conversions, crops, frame keys and content hashes."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame, content_hash, frame_key, to_bgr, to_gray, validate_image
from rpa_vision.core.geometry import Box, Monitor


def img(h: int = 40, w: int = 60, c: int = 3, seed: int = 0) -> np.ndarray:
    shape = (h, w) if c == 0 else (h, w, c)
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4, 3), np.uint8),
     np.zeros((4,), np.uint8), [[1, 2]], None],
)
def test_validate_image_rejects(bad: object) -> None:
    with pytest.raises(ValidationError):
        validate_image(bad)


def test_frame_validation() -> None:
    mon = Monitor(0, 0, 60, 40)
    Frame(img(), "BGR", mon)
    with pytest.raises(ValidationError, match="channel"):
        Frame(img(c=4), "BGR", mon)
    with pytest.raises(ValidationError, match="unknown channel"):
        Frame(img(), "XYZ", mon)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="monitor region"):
        Frame(img(), "BGR", Monitor(0, 0, 61, 40))
    Frame(img(c=0), "GRAY", mon)
    with pytest.raises(ValidationError):
        Frame(img(c=0), "BGR", mon)


def test_from_array_places_the_frame_on_the_desktop() -> None:
    f = Frame.from_array(img(c=4), "BGRA", left=-1920, top=-10, scale=1.5, timestamp=12.0)
    assert (f.monitor.left, f.monitor.top, f.monitor.scale) == (-1920, -10, 1.5)
    assert f.size_wh == (60, 40) and (f.width, f.height) == (60, 40)
    assert f.bounds == Box(0, 0, 60, 40)
    assert f.timestamp == 12.0
    assert f.key == frame_key(f.pixels)


def test_channel_conversions() -> None:
    bgra = img(c=4)
    assert np.array_equal(to_bgr(bgra, "BGRA"), bgra[:, :, :3])
    rgb = img(c=3)
    assert np.array_equal(to_bgr(rgb, "RGB"), rgb[:, :, ::-1])
    rgba = img(c=4)
    assert np.array_equal(to_bgr(rgba, "RGBA"), rgba[:, :, 2::-1])
    g = img(c=0)
    assert np.array_equal(to_bgr(g, "GRAY"), np.repeat(g[:, :, None], 3, axis=2))
    assert to_bgr(bgra, "BGRA").flags["C_CONTIGUOUS"]
    # gray of pure colours follows BT.601 weights
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)  # BGR blue, green, red
    assert to_gray(px, "BGR").tolist() == [[28, 149, 76]]
    assert np.array_equal(to_gray(px[:, :, ::-1].copy(), "RGB"), to_gray(px, "BGR"))
    assert np.array_equal(to_gray(g, "GRAY"), g)
    assert np.array_equal(to_gray(g[:, :, None], "GRAY"), g)


def test_crop_clips_and_rejects_outside() -> None:
    f = Frame.from_array(img(c=4), "BGRA")
    c = f.crop(Box(50, 30, 80, 80))
    assert c.shape == (10, 10, 3)
    assert np.array_equal(c, f.pixels[30:40, 50:60, :3])
    with pytest.raises(ValidationError, match="outside"):
        f.crop(Box(100, 100, 120, 120))


def test_frame_key_changes_with_content_shape_and_dtype_layout() -> None:
    a = img(200, 300)
    assert frame_key(a) == frame_key(a.copy())
    b = a.copy()
    b[100:140, 100:140] = 0  # larger than the grid step
    assert frame_key(b) != frame_key(a)
    assert frame_key(a[:, :299]) != frame_key(a[:, 1:])
    assert frame_key(np.zeros((10, 20, 3), np.uint8)) != frame_key(np.zeros((20, 10, 3), np.uint8))
    with pytest.raises(ValidationError):
        frame_key(np.zeros((0, 5), np.uint8))


def test_frame_key_samples_a_bounded_grid_on_4k() -> None:
    big = np.zeros((2160, 3840, 4), np.uint8)
    k = frame_key(big)
    big[0, 0, 0] = 1  # off the half-step-offset grid: the key does not see it (documented)
    assert frame_key(big) == k
    big[1000:1100, 1000:1100] = 7
    assert frame_key(big) != k


def test_content_hash_sees_every_pixel() -> None:
    a = img()
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(b)
    assert content_hash(a[:, :30]) == content_hash(np.ascontiguousarray(a[:, :30]))
    assert content_hash(a.reshape(60, 40, 3)) != content_hash(a)
