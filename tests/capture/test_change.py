"""Change detection: dirty tiles, merged and tightened rectangles, frame equality."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.capture import dirty_rects, dirty_tiles, frames_equal
from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box


def screen(h: int = 480, w: int = 640, c: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, c), dtype=np.uint8)


def test_unchanged_frame_has_no_dirty_rects() -> None:
    a = screen()
    assert dirty_rects(a, a.copy()) == []
    assert not dirty_tiles(a, a.copy()).any()


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_small_change_gives_a_tight_rect(channels: int) -> None:
    a = screen(c=channels)[:, :, :channels] if channels > 1 else screen(c=1)[:, :, 0]
    b = a.copy()
    b[100:110, 200:230] ^= 0xFF
    assert dirty_rects(a, b) == [Box(200, 100, 230, 110)]


def test_change_across_tile_borders_merges_into_one_rect() -> None:
    a = screen()
    b = a.copy()
    b[60:70, 60:70] ^= 1  # straddles 4 tiles of 64 px
    assert dirty_rects(a, b, tile=64) == [Box(60, 60, 70, 70)]


def test_separate_changes_give_separate_rects_sorted_top_left_first() -> None:
    a = screen()
    b = a.copy()
    b[400:402, 10:20] = ~b[400:402, 10:20]
    b[4:8, 600:610] = ~b[4:8, 600:610]
    assert dirty_rects(a, b) == [Box(600, 4, 610, 8), Box(10, 400, 20, 402)]


def test_one_channel_difference_is_seen() -> None:
    a = screen()
    b = a.copy()
    b[32, 77, 2] ^= 1  # one bit of one channel of one pixel, on a sampled (even) row
    assert dirty_rects(a, b, row_step=2, phase=0) == [Box(77, 32, 78, 33)]


def test_thin_change_between_sampled_rows_is_found_by_rotating_the_phase() -> None:
    a = screen()
    b = a.copy()
    b[33, 10:20] ^= 0x10  # one row: phase 0 with row_step 2 samples even rows only
    assert dirty_rects(a, b, row_step=2, phase=0) == []
    assert dirty_rects(a, b, row_step=2, phase=1) == [Box(10, 33, 20, 34)]
    assert dirty_rects(a, b, row_step=1) == [Box(10, 33, 20, 34)]


def test_frames_of_different_size_are_all_dirty() -> None:
    assert dirty_rects(screen(100, 100), screen(120, 100)) == [Box(0, 0, 100, 120)]


def test_non_multiple_of_tile_sizes_and_edges() -> None:
    a = screen(101, 131)
    b = a.copy()
    b[100, 130] ^= 3
    assert dirty_rects(a, b, tile=64, row_step=1) == [Box(130, 100, 131, 101)]
    grid = dirty_tiles(a, b, tile=64, row_step=1)
    assert grid.shape == (2, 3) and grid.sum() == 1 and grid[1, 2]


def test_accepts_frames() -> None:
    a = screen()
    b = a.copy()
    b[0:5, 0:5] = 0
    fa, fb = Frame.from_array(a, "BGRA"), Frame.from_array(b, "BGRA")
    assert dirty_rects(fa, fb) == [Box(0, 0, 5, 5)]


def test_bad_inputs() -> None:
    with pytest.raises(ValidationError):
        dirty_rects("x", screen())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        dirty_tiles(screen(), screen(), tile=0)
    with pytest.raises(ValidationError):
        dirty_tiles(screen(10, 10), screen(10, 12))


def test_frames_equal_uses_keys_then_pixels() -> None:
    a = screen()
    b = a.copy()
    fa, fb = Frame.from_array(a, "BGRA"), Frame.from_array(b, "BGRA")
    assert frames_equal(fa, fb)
    b2 = a.copy()
    b2[0, 0, 0] ^= 1  # off the frame key's sampling grid; the pixel check finds it
    fb2 = Frame.from_array(b2, "BGRA")
    assert fa.key == fb2.key
    assert not frames_equal(fa, fb2)
    b3 = a.copy()
    b3[:, :] = 0
    assert not frames_equal(fa, Frame.from_array(b3, "BGRA"))
    assert not frames_equal(a, a[:, :10])
