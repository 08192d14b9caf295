"""Full-resolution second look: small cells of tight grids on a 4K frame analysed at 1080p."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpa_vision.core import Box, Frame
from rpa_vision.roi import ROIConfig, ROIOptimizer
from rpa_vision.roi.evaluate import recall_at
from rpa_vision.roi.fine import FineSource, close_line_areas, windows
from rpa_vision.roi.proposals import Limits


def _grid(img: np.ndarray, x: int, y: int, cols: list[int], rows: int, cell_h: int, rng: np.random.Generator,
          ) -> list[Box]:
    """A table of bordered cells sharing 1 px lines (as toolkits draw button boxes), each with
    a label, drawn on ``img``; the cells' boxes (line to line, as a window tree reports them)."""
    cells = []
    xs = np.cumsum([x, *cols])
    for r in range(rows):
        y1 = y + r * cell_h
        for c in range(len(cols)):
            x1, x2 = int(xs[c]), int(xs[c + 1])
            cv2.rectangle(img, (x1, y1), (x2, y1 + cell_h), (0, 0, 0), 1)
            n = int(rng.integers(2, max(3, (x2 - x1 - 12) // 9)))  # a label that fits its cell
            word = "".join(rng.choice(list("abcdefhkmnorstuvwxz"), size=n))
            cv2.putText(img, word, (x1 + 6, y1 + cell_h - 5), cv2.FONT_HERSHEY_PLAIN, 0.7, (0, 0, 0), 1)
            cells.append(Box(x1, y1, x2 + 1, y1 + cell_h + 1))
    return cells


@pytest.fixture(scope="module")
def dense4k() -> tuple[np.ndarray, list[Box]]:
    """A 4K frame with tight grids of ~17 px cells (and one-row segmented groups) in several
    places, the cells being what must be proposed."""
    rng = np.random.default_rng(3)
    img = np.full((2160, 3840, 3), 236, np.uint8)
    cv2.rectangle(img, (100, 80), (1500, 1300), (255, 255, 255), -1)
    cells: list[Box] = []
    cells += _grid(img, 160, 120, [128, 128, 128, 128], 8, 17, rng)
    cells += _grid(img, 800, 140, [70, 96, 110], 1, 17, rng)
    cells += _grid(img, 800, 200, [100, 150], 2, 18, rng)
    cells += _grid(img, 2200, 400, [116, 116, 98, 134], 6, 19, rng)
    cells += _grid(img, 300, 900, [60, 60, 60, 60, 60, 60], 5, 17, rng)
    return img, cells


def test_every_cell_of_a_dense_4k_grid_is_proposed(dense4k):
    img, cells = dense4k
    res = ROIOptimizer(ROIConfig(cache_entries=0)).propose(Frame.from_array(img))
    assert res.transform.scale_x == pytest.approx(0.5)  # still analysed at 1920x1080
    rep = recall_at(res.regions, cells, iou=0.5)
    assert rep.recall == 1.0, rep.misses


def test_the_downscale_alone_loses_the_cells(dense4k):
    """What the second look is for: without it most of these cells merge at 1920x1080."""
    img, cells = dense4k
    off = ROIOptimizer(ROIConfig(cache_entries=0, fine_cells=False)).propose(Frame.from_array(img))
    on = ROIOptimizer(ROIConfig(cache_entries=0)).propose(Frame.from_array(img))
    assert recall_at(off.regions, cells).recall < recall_at(on.regions, cells).recall


def test_incremental_run_inside_a_grid_finds_its_cells(dense4k):
    img, cells = dense4k
    opt = ROIOptimizer()
    opt.propose(Frame.from_array(img))
    changed = img.copy()
    x1, y1, x2, y2 = (int(v) for v in cells[5].as_tuple())
    cv2.rectangle(changed, (x1 + 2, y1 + 3), (x2 - 3, y2 - 4), (255, 255, 255), -1)
    cv2.putText(changed, "new", (x1 + 6, y2 - 6), cv2.FONT_HERSHEY_PLAIN, 0.7, (0, 0, 0), 1)
    res = opt.propose(Frame.from_array(changed, timestamp=1.0), [cells[5]])
    assert res.incremental
    assert recall_at(res.regions, cells, iou=0.5).recall == 1.0


def test_time_of_the_second_look_is_reported(dense4k):
    img, _ = dense4k
    res = ROIOptimizer(ROIConfig(cache_entries=0)).propose(Frame.from_array(img))
    assert 0.0 < res.timings_ms["fine"] <= res.timings_ms["detect"]
    small = cv2.resize(img, (1920, 1080), interpolation=cv2.INTER_AREA)
    assert ROIOptimizer().propose(Frame.from_array(small)).timings_ms["fine"] == 0.0


def test_1080p_frames_are_not_read_twice():
    src = FineSource(np.zeros((1080, 1920), np.uint8), "GRAY", 1.0, 1.0)
    assert not src.applies
    assert FineSource(np.zeros((2160, 3840), np.uint8), "GRAY", 0.5, 0.5).applies


def test_close_lines_mark_rows_of_cells_not_a_lone_line():
    lim = Limits.of(ROIConfig(), (1920, 1080), 0.5)
    horizontal = np.zeros((200, 400), np.uint8)
    for y in (20, 29, 38, 47):  # a table: rows 9 px apart
        horizontal[y:y + 2, 50:300] = 1
    horizontal[150:152, 50:300] = 1  # a lone separator far from anything
    mask = close_line_areas(horizontal, lim, pool=2)  # in 2x2 blocks of working pixels
    assert mask[24 // 2, 100 // 2] and mask[42 // 2, 200 // 2]
    assert not mask[100 // 2:].any()
    assert not mask[:, :44 // 2].any() and not mask[:, 306 // 2:].any()
    (box,) = windows(mask, pool=2).tolist()
    x1, y1, x2, y2 = box
    assert x1 <= 50 and y1 <= 22 and x2 >= 300 and y2 >= 47 and y2 < 150


def test_short_runs_are_not_lines_of_a_table():
    """Runs much shorter than a table (text that the downscale merged) mark nothing."""
    lim = Limits.of(ROIConfig(), (1920, 1080), 0.5)
    horizontal = np.zeros((100, 400), np.uint8)
    for y in (20, 29, 38):
        horizontal[y:y + 2, 50:70] = 1
    assert not close_line_areas(horizontal, lim).any()


def test_rows_with_nothing_drawn_in_them_are_left_to_the_working_image():
    """A chart's grid or blank cells keep their holes at 1080p: no second look there."""
    lim = Limits.of(ROIConfig(), (1920, 1080), 0.5)
    horizontal = np.zeros((200, 400), np.uint8)
    for y in (20, 29, 38, 120, 129, 138):
        horizontal[y:y + 2, 50:300] = 1
    edges = horizontal.copy()
    edges[23:27, 60:90] = 1  # a label in the first table's first row only
    mask = close_line_areas(horizontal, lim, edges, pool=2)
    assert mask[24 // 2, 64 // 2] and mask[24 // 2, 160 // 2]  # that row, along, not just at the label
    assert not mask[100 // 2:].any()  # the blank one
    assert close_line_areas(horizontal, lim, pool=2)[124 // 2, 100 // 2]  # without edges: both


def test_cells_of_an_8k_frame_are_read_at_twice_the_working_resolution(dense4k):
    """An 8K frame (the same grids drawn twice as large) is read at 4K, not at 8K, where it
    is read again: the cells are found all the same."""
    img, cells = dense4k
    big = cv2.resize(img, (7680, 4320), interpolation=cv2.INTER_NEAREST)
    res = ROIOptimizer(ROIConfig(cache_entries=0)).propose(Frame.from_array(big))
    assert res.transform.scale_x == pytest.approx(0.25)
    rep = recall_at(res.regions, [b.scale(2.0) for b in cells], iou=0.5)
    assert rep.recall >= 0.95, rep.misses
