"""ROI optimizer: recall and kinds on drawn GUIs, every input format, caching, incremental mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpa_vision.core import Box, Frame, ValidationError
from rpa_vision.roi import Region, ROIConfig, ROIError, ROIOptimizer
from rpa_vision.roi.evaluate import recall_at
from tests.roi.synthetic_ui import draw_ui


@pytest.fixture(scope="module")
def ui():
    return draw_ui(1.0)


@pytest.fixture(scope="module")
def ui4k():
    return draw_ui(2.0, 3840, 2160)


def _best(regions: tuple[Region, ...], box: Box) -> Region:
    return max(regions, key=lambda r: r.box.iou(box))


def test_finds_every_drawn_element_1080p(ui):
    res = ROIOptimizer().propose(Frame.from_array(ui.image))
    for name in ("buttons", "fields", "icons", "texts", "panels"):
        rep = recall_at(res.regions, getattr(ui, name), iou=0.5)
        assert rep.recall == 1.0, (name, rep.misses)
    assert not res.cached and not res.incremental
    assert res.transform.is_identity
    assert {"downscale", "detect", "nms_label", "total"} <= set(res.timings_ms)


def test_kinds_of_drawn_elements(ui):
    res = ROIOptimizer().propose(Frame.from_array(ui.image))
    assert all(_best(res.regions, b).kind == "widget" for b in ui.buttons + ui.fields)
    assert all(_best(res.regions, b).kind == "icon" for b in ui.icons)
    assert all(_best(res.regions, b).kind == "text" for b in ui.texts)
    assert _best(res.regions, ui.panels[0]).kind == "container"


def test_4k_bgra_boxes_come_back_in_full_resolution(ui4k):
    bgra = cv2.cvtColor(ui4k.image, cv2.COLOR_BGR2BGRA)
    res = ROIOptimizer().propose(Frame.from_array(bgra, "BGRA"))
    assert res.transform.scale_x == pytest.approx(0.5)
    rep = recall_at(res.regions, ui4k.clickable, iou=0.5)
    assert rep.recall >= 0.95, rep.misses
    # Boxes are full-resolution: a 4K button is matched tightly, not at half size.
    tight = [_best(res.regions, b).box.iou(b) for b in ui4k.buttons]
    assert min(tight) > 0.7
    assert all(r.box.x2 <= 3840 and r.box.y2 <= 2160 for r in res.regions)


def test_same_regions_whatever_the_channel_order_or_strides(ui):
    opt = ROIOptimizer(ROIConfig(cache_entries=0))
    ref = opt.propose(Frame.from_array(ui.image, "BGR")).boxes()
    rgb = np.ascontiguousarray(ui.image[:, :, ::-1])
    rgba = cv2.cvtColor(ui.image, cv2.COLOR_BGR2RGBA)
    gray = cv2.cvtColor(ui.image, cv2.COLOR_BGR2GRAY)
    strided = np.zeros((ui.image.shape[0], ui.image.shape[1] * 2, 3), np.uint8)
    strided[:, ::2] = ui.image
    for pixels, ch in ((rgb, "RGB"), (rgba, "RGBA"), (rgb[:, :, ::-1], "BGR"), (strided[:, ::2], "BGR")):
        got = opt.propose(Frame.from_array(pixels, ch)).boxes()
        assert recall_at(got, ref, iou=0.9).recall >= 0.97, ch
    got = opt.propose(Frame.from_array(gray, "GRAY")).boxes()
    assert recall_at(got, ref, iou=0.9).recall >= 0.9  # BT.601 gray differs slightly from OpenCV's
    got = opt.propose(Frame.from_array(gray[:, :, None], "GRAY")).boxes()
    assert len(got) > 0


@pytest.mark.parametrize("shape", [(1, 1), (1, 500), (3, 3), (1080, 1920)])
def test_tiny_and_blank_frames_give_no_regions(shape):
    res = ROIOptimizer().propose(Frame.from_array(np.full(shape, 128, np.uint8), "GRAY"))
    assert res.regions == ()


def test_8k_gray_frame(ui4k):
    big = cv2.resize(cv2.cvtColor(ui4k.image, cv2.COLOR_BGR2GRAY), (7680, 4320), interpolation=cv2.INTER_NEAREST)
    res = ROIOptimizer().propose(Frame.from_array(big, "GRAY"))
    assert res.transform.scale_x == pytest.approx(0.25)
    truth = [b.scale(2.0) for b in ui4k.buttons]
    assert recall_at(res.regions, truth, iou=0.5).recall >= 0.9


def test_bad_input_is_a_clear_error(ui):
    opt = ROIOptimizer()
    with pytest.raises(ROIError):
        opt.propose(ui.image)  # type: ignore[arg-type]
    with pytest.raises(ROIError):
        opt.propose(Frame.from_array(ui.image), [(0, 0, 10, 10)])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        Frame.from_array(np.zeros((0, 10), np.uint8), "GRAY")


def test_cache_hits_misses_and_evictions(ui):
    opt = ROIOptimizer(ROIConfig(cache_entries=2))
    frames = []
    for i in range(3):
        img = ui.image.copy()
        img[:40, :40] = 10 * i
        frames.append(Frame.from_array(img))
    first = opt.propose(frames[0])
    again = opt.propose(Frame.from_array(frames[0].pixels.copy()))  # new object, same content
    assert again.cached and again.regions == first.regions
    opt.propose(frames[1])
    opt.propose(frames[2])  # evicts frames[0]
    assert not opt.propose(frames[0]).cached
    st = opt.stats()
    assert st["hits"] == 1 and st["misses"] == 4 and st["evictions"] == 2 and st["entries"] == 2


def test_no_cache_when_disabled(ui):
    opt = ROIOptimizer(ROIConfig(cache_entries=0))
    f = Frame.from_array(ui.image)
    opt.propose(f)
    assert not opt.propose(f).cached
    assert opt.stats()["entries"] == 0


def _with_new_button(img: np.ndarray, box: Box, label: str = "NEW") -> np.ndarray:
    out = img.copy()
    x1, y1, x2, y2 = box.as_int_tuple()
    cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (200, 230, 200), -1)
    cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (40, 40, 40), 1)
    cv2.putText(out, label, (x1 + 8, y2 - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_incremental_matches_a_full_run(ui, ui4k, scale):
    base = ui.image if scale == 1.0 else ui4k.image
    new_box = Box(1400, 600, 1520, 632).scale(scale)
    changed = _with_new_button(base, new_box)
    opt = ROIOptimizer()
    before = opt.propose(Frame.from_array(base))
    inc = opt.propose(Frame.from_array(changed), [new_box])
    full = ROIOptimizer().propose(Frame.from_array(changed))
    assert inc.incremental and not full.incremental
    assert _best(inc.regions, new_box).box.iou(new_box) > 0.8
    assert recall_at(before.regions, [new_box]).recall == 0.0
    # Same answer as a full run, and everything far from the change untouched.
    assert recall_at(inc.regions, full.boxes(), iou=0.9).recall >= 0.97
    assert recall_at(full.regions, inc.boxes(), iou=0.9).recall >= 0.97
    far = [r.box for r in before.regions if r.box.expand(200 * scale).intersection(new_box) is None]
    assert recall_at(inc.regions, far, iou=0.99).recall == 1.0
    assert opt.stats()["incremental_runs"] == 1


def test_incremental_removes_what_disappeared(ui):
    opt = ROIOptimizer()
    gone = ui.buttons[5]
    img = ui.image.copy()
    x1, y1, x2, y2 = gone.expand(2).as_int_tuple()
    img[y1:y2, x1:x2] = 245  # the panel's colour
    opt.propose(Frame.from_array(ui.image))
    inc = opt.propose(Frame.from_array(img), [gone.expand(2)])
    assert inc.incremental
    # what still overlaps the emptied place is a container or a padded row of a line beside it,
    # and a full run on the new frame has it too (nothing stale)
    full = {r.box for r in ROIOptimizer().propose(Frame.from_array(img)).regions}
    over = [r for r in inc.regions if r.box.intersection(gone) is not None and r.kind != "container"]
    assert all(r.padded and not gone.contains_box(r.box) and r.box in full for r in over)


def test_large_or_unmatched_dirty_falls_back_to_full(ui):
    opt = ROIOptimizer()
    img = _with_new_button(ui.image, Box(1400, 600, 1520, 632))
    inc = opt.propose(Frame.from_array(img), [Box(0, 0, 1920, 1080)])  # no previous frame
    assert not inc.incremental
    img2 = _with_new_button(img, Box(1400, 700, 1520, 732))
    assert not opt.propose(Frame.from_array(img2), [Box(0, 0, 1900, 1000)]).incremental
    small = Frame.from_array(np.ascontiguousarray(img2[:500, :800]))
    assert not opt.propose(small, [Box(0, 0, 10, 10)]).incremental  # size changed
    st = opt.stats()
    assert st["incremental_runs"] == 0 and st["full_runs"] == 3


def test_max_regions_caps_the_output(ui):
    res = ROIOptimizer(ROIConfig(max_regions=5)).propose(Frame.from_array(ui.image))
    assert len(res.regions) == 5
    scores = [r.score for r in res.regions]
    assert scores == sorted(scores, reverse=True)


def test_size_filters_scale_with_the_frame(ui):
    strict = ROIConfig(min_box_frac=(0.05, 0.05))
    res = ROIOptimizer(strict).propose(Frame.from_array(ui.image))
    assert all(r.box.width >= 0.05 * 1920 - 1 and r.box.height >= 0.05 * 1080 - 1 for r in res.regions)
    assert recall_at(res.regions, ui.panels).recall == 1.0


def test_mser_text_lines(ui):
    res = ROIOptimizer(ROIConfig(mser=True)).propose(Frame.from_array(ui.image))
    assert recall_at(res.regions, ui.texts).recall == 1.0
    assert recall_at(res.regions, ui.clickable).recall == 1.0


def test_texture_does_not_flood_the_proposals(ui):
    from rpa_vision.roi.proposals import TEXTURE_CELL, edge_map, texture_closed

    rng = np.random.default_rng(1)
    img = ui.image.copy()
    img[600:1000, 1100:1800] = rng.integers(0, 255, (400, 700, 3), np.uint8)  # a noisy picture
    res = ROIOptimizer().propose(Frame.from_array(img))
    assert recall_at(res.regions, ui.buttons + ui.fields).recall == 1.0
    # the guard closes textured cells (thousands of tiny holes become one blob) and leaves the GUI alone
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    e = edge_map(gray, 24)
    closed = texture_closed(e, cv2.integral(e))
    assert np.array_equal(closed[:500, :1000], e[:500, :1000])
    assert closed[600 + TEXTURE_CELL:1000 - TEXTURE_CELL, 1100 + TEXTURE_CELL:1800 - TEXTURE_CELL].mean() > 0.95
    patch = (slice(600, 1000), slice(1100, 1800))
    raw_n = len(cv2.findContours(np.ascontiguousarray(e[patch]), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[0])
    closed_n = len(cv2.findContours(np.ascontiguousarray(closed[patch]), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[0])
    assert closed_n * 20 < raw_n


def test_dirty_rects_relative_to_another_frame_mean_a_full_run(ui):
    opt = ROIOptimizer()
    a = Frame.from_array(ui.image)
    b = Frame.from_array(_with_new_button(ui.image, Box(1400, 600, 1520, 632)))
    c = Frame.from_array(_with_new_button(b.pixels, Box(1400, 700, 1520, 732)))
    opt.propose(a)
    opt.propose(b, [Box(1400, 600, 1520, 632)], since=a.key)
    assert opt.stats()["incremental_runs"] == 1
    # someone else's frame came in between: c's dirty rects are relative to b, not to what we saw
    opt.propose(Frame.from_array(np.ascontiguousarray(ui.image[:, ::-1])))
    res = opt.propose(c, [Box(1400, 700, 1520, 732)], since=b.key)
    assert not res.incremental
    assert recall_at(res.regions, [Box(1400, 600, 1520, 632), Box(1400, 700, 1520, 732)]).recall == 1.0


def test_words_next_to_a_scrollbar_are_found_on_their_own():
    img = np.full((600, 900, 3), 255, np.uint8)
    img[:, :14] = 200
    img[::2, :14:2] = 60  # a hatched scrollbar along the left edge, as in Athena text widgets
    img[1::2, 1:14:2] = 60
    truth = []
    font, fs = cv2.FONT_HERSHEY_PLAIN, 1.0
    for i in range(30):
        y = 14 + i * 16
        x = 17
        for word in ("import", "math", "threading"):
            (tw, th), base = cv2.getTextSize(word, font, fs, 1)
            cv2.putText(img, word, (x, y), font, fs, (0, 0, 0), 1, cv2.LINE_AA)
            truth.append(Box(x, y - th, x + tw, y + base))
            x += tw + 10
    res = ROIOptimizer().propose(Frame.from_array(img))
    rep = recall_at(res.of_kind("text"), truth, iou=0.5)
    assert rep.recall >= 0.9, rep.misses[:5]


def _flat_toolbar() -> tuple[np.ndarray, list[Box], Box]:
    """A light window with a toolbar of borderless icons (the clickable button is the icon plus
    padding, as Qt tool buttons are) and one bordered button with a label."""
    img = np.full((600, 900, 3), 240, np.uint8)
    buttons = []
    for i in range(5):
        x, y = 20 + 40 * i, 20
        buttons.append(Box(x, y, x + 32, y + 32))  # what the toolkit reports as the button
        cv2.rectangle(img, (x + 8, y + 6), (x + 23, y + 25), (60, 90, 160), -1)  # the drawn icon only
        cv2.line(img, (x + 10, y + 10), (x + 21, y + 10), (250, 250, 250), 1)
    bordered = Box(400, 300, 520, 330)
    cv2.rectangle(img, (400, 300), (519, 329), (90, 90, 90), 1)
    cv2.putText(img, "Apply", (432, 321), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    return img, buttons, bordered


def test_flat_widgets_get_padded_boxes_that_point_lookups_consider_last():
    from rpa_vision.roi import region_at

    img, buttons, bordered = _flat_toolbar()
    regions = ROIOptimizer().propose(Frame.from_array(img)).regions
    off = ROIOptimizer(ROIConfig(flat_widgets=False)).propose(Frame.from_array(img)).regions
    assert recall_at(regions, buttons).recall == 1.0  # the padded boxes match the buttons
    assert recall_at(off, buttons).recall < 0.5  # the drawn icons alone do not
    assert not any(r.padded for r in off)
    padded = [r for r in regions if r.padded]
    assert padded and max(r.score for r in padded) < min(r.score for r in regions if not r.padded)
    # the bordered button has its own box: no padded box inside it, and the look-up returns it
    assert not any(bordered.contains_box(r.box) for r in padded)
    hit = region_at(regions, bordered.center)
    assert hit is not None and not hit.padded and hit.box.iou(bordered) > 0.8
    # on an icon the drawn icon wins; a padded box only where nothing else holds the point
    icon_hit = region_at(regions, buttons[0].center)
    assert icon_hit is not None and not icon_hit.padded
    corner = (buttons[0].x1 + 2, buttons[0].y1 + 2)  # inside the button, outside the icon
    corner_hit = region_at(regions, corner)
    assert corner_hit is not None and corner_hit.padded


def test_rows_of_a_list_box():
    img = np.full((500, 800, 3), 240, np.uint8)
    cv2.rectangle(img, (100, 100), (500, 300), (120, 120, 120), 1)  # the list box
    rows = []
    for i, t in enumerate(["Apples", "Bananas", "Cherries", "Dates", "Elderberries"]):
        y = 104 + 22 * i
        rows.append(Box(102, y, 498, y + 22))  # what the toolkit reports for each item
        cv2.putText(img, t, (108, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    on = ROIOptimizer().propose(Frame.from_array(img)).regions
    off = ROIOptimizer(ROIConfig(flat_widgets=False)).propose(Frame.from_array(img)).regions
    assert recall_at(on, rows).recall == 1.0
    assert recall_at(off, rows).recall == 0.0


def test_incremental_kinds_match_a_full_run(ui):
    """Regions away from the change keep their kinds (they are reused, not relabelled), and
    every region of the incremental run has the kind a full run gives the same box."""
    new_box = Box(1400, 600, 1520, 632)
    changed = _with_new_button(ui.image, new_box)
    opt = ROIOptimizer()
    opt.propose(Frame.from_array(ui.image))
    inc = opt.propose(Frame.from_array(changed), [new_box])
    full = ROIOptimizer().propose(Frame.from_array(changed))
    assert inc.incremental
    by_box = {(r.box, r.padded): r.kind for r in full.regions}
    same = [(r.kind, by_box[(r.box, r.padded)]) for r in inc.regions if (r.box, r.padded) in by_box]
    assert len(same) >= 0.97 * len(full.regions)
    assert sum(a == b for a, b in same) >= 0.99 * len(same)
    assert _best(inc.regions, new_box).kind == "widget"


def test_rows_of_a_tight_list_whose_lines_merged():
    """At 0.5 px/pt a tight list's text lines merge into two-row line boxes; each word then
    stands for its own row and gets a row hypothesis as wide as the list."""
    from rpa_vision.roi.evaluate import iou_matrix
    from rpa_vision.roi.proposals import HOLE, LINE, WORD, Limits, flat_boxes

    lim = Limits.of(ROIConfig(), (1920, 1080), 0.5)
    outline = [246.0, 276.0, 500.0, 400.0]
    words = [[250.0, 280.0 + 16 * i, 290.0 + 3 * i, 291.0 + 16 * i] for i in range(6)]
    merged = [[250.0, 280.0 + 32 * k, 305.0, 307.0 + 32 * k] for k in range(3)]  # rows 2k and 2k+1
    boxes = np.array([outline, *words, *merged], np.float32)
    source = np.array([HOLE] + [WORD] * 6 + [LINE] * 3, np.int8)
    border = np.array([1.0] + [0.2] * 9, np.float32)
    flat = flat_boxes(boxes, source, border, lim, (1920, 1080))
    rows = np.array([[247.0, w[1] - 1.65, 499.0, w[3] + 1.65] for w in words])
    assert (iou_matrix(rows, flat).max(1) > 0.9).all()
    # Lines that did not merge (one per word) are their words' lines: no word stands in for them,
    # and the rows come from the lines as before (one per row, not two).
    own = np.array([outline, *words, *words], np.float32)
    src2 = np.array([HOLE] + [WORD] * 6 + [LINE] * 6, np.int8)
    flat2 = flat_boxes(own, src2, np.array([1.0] + [0.2] * 12, np.float32), lim, (1920, 1080))
    assert (iou_matrix(rows, flat2).max(1) > 0.9).all()
    wide = flat2[(flat2[:, 2] - flat2[:, 0]) > 200]
    assert len(np.unique(np.round(wide), axis=0)) == 6
