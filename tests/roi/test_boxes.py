"""Region types, config validation, NMS, kind labels, look-ups by point, recall evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core import Box, Frame, Point, ValidationError
from rpa_vision.roi import Region, ROIConfig, ROIOptimizer, region_at, regions_near
from rpa_vision.roi.boxes import nms
from rpa_vision.roi.evaluate import iou_matrix, recall_at
from rpa_vision.roi.proposals import HOLE, OUTER, Candidates
from tests.roi.synthetic_ui import draw_ui


def test_region_validation():
    Region(Box(0, 0, 5, 5), "icon", 0.5)
    with pytest.raises(ValidationError):
        Region(Box(0, 0, 5, 5), "button", 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Region(Box(0, 0, 5, 5), "text", 1.5)
    with pytest.raises(ValidationError):
        Region(Box(3, 3, 3, 9), "text", 0.5)


@pytest.mark.parametrize("kw", [
    {"max_size": (10, 10)}, {"max_size": (1920.0, 1080)}, {"min_box_frac": (0.0, 0.01)},
    {"max_box_frac": (0.001, 0.9)}, {"nms_iou": 0.0}, {"nms_iou": 1.5}, {"edge_threshold": 0},
    {"mser_scale": 0.0}, {"tile_px": 8}, {"tile_margin_px": -1}, {"cache_entries": -1}, {"max_regions": 0},
    {"incremental_max_frac": float("nan")},
])
def test_config_rejects_bad_values(kw):
    with pytest.raises(ValidationError):
        ROIConfig(**kw)


def test_smaller_max_size_downscales():
    ui = draw_ui(1.0)
    res = ROIOptimizer(ROIConfig(max_size=(960, 540))).propose(Frame.from_array(ui.image))
    assert res.transform.scale_x == pytest.approx(0.5)
    assert recall_at(res.regions, ui.buttons + ui.fields).recall == 1.0


def _cands(boxes, scores, src=OUTER):
    n = len(boxes)
    z = np.zeros(n, np.float32)
    return Candidates(np.array(boxes, np.float32), np.full(n, src, np.int8), np.array(scores, np.float32), z, z)


def test_nms_keeps_the_best_of_overlapping_boxes():
    c = _cands([[0, 0, 100, 30], [1, 1, 101, 31], [300, 0, 340, 40], [0, 0, 100, 31]], [0.5, 0.9, 0.4, 0.6])
    kept = nms(c, 0.6, 100)
    assert kept.boxes.tolist() == [[1, 1, 101, 31], [300, 0, 340, 40]]
    assert len(nms(c, 0.6, 1)) == 1
    assert len(nms(Candidates.empty(), 0.5, 10)) == 0


def _regions() -> list[Region]:
    return [
        Region(Box(0, 0, 500, 400), "container", 0.8),
        Region(Box(10, 10, 110, 40), "widget", 0.9),  # a button
        Region(Box(30, 18, 70, 32), "text", 0.7),  # its label
        Region(Box(200, 100, 240, 112), "text", 0.6),  # a free link in the panel
        Region(Box(300, 300, 324, 324), "icon", 0.7),
    ]


def test_region_at_prefers_the_widget_over_its_label():
    rs = _regions()
    assert region_at(rs, Point(50, 25)) is rs[1]
    assert region_at(rs, (15, 15)) is rs[1]
    assert region_at(rs, Point(210, 105)) is rs[3]  # text with only a container around it
    assert region_at(rs, Point(310, 310)) is rs[4]
    assert region_at(rs, Point(400, 50)) is rs[0]
    assert region_at(rs, Point(900, 900)) is None
    assert region_at([], Point(1, 1)) is None


def test_region_at_on_a_drawn_ui():
    ui = draw_ui(1.0)
    regions = ROIOptimizer().propose(Frame.from_array(ui.image)).regions
    for b in ui.buttons:
        hit = region_at(regions, b.center)
        assert hit is not None and hit.box.iou(b) > 0.8 and hit.kind == "widget"


def test_regions_near():
    rs = _regions()
    near = regions_near(rs, rs[1].box, k=2)
    assert near[0] is rs[3] and len(near) == 2
    assert rs[2] not in regions_near(rs, rs[1].box, k=10)  # the button's own label
    assert rs[1] not in regions_near(rs, rs[2].box, k=10)  # the label's button contains it

    assert all(r.kind == "icon" for r in regions_near(rs, rs[1].box, kinds=["icon"]))
    assert regions_near(rs, rs[1].box, radius=10) == []


def test_recall_and_iou_matrix():
    truth = [Box(0, 0, 10, 10), Box(20, 20, 30, 30)]
    props = [Box(0, 0, 10, 11), Box(25, 25, 35, 35)]
    m = iou_matrix(np.array([b.as_tuple() for b in truth]), np.array([b.as_tuple() for b in props]))
    assert m[0, 0] == pytest.approx(100 / 110)
    assert m[1, 1] == pytest.approx(25 / 175)
    rep = recall_at(props, truth)
    assert rep.recall == 0.5 and rep.found == 1 and rep.total == 2 and rep.misses[0][0] == truth[1]
    assert recall_at([], truth).recall == 0.0
    assert recall_at(props, []).recall == 1.0


def test_hole_source_survives_nms_over_a_ring():
    c = _cands([[10, 10, 110, 40], [10, 10, 110, 40]], [0.7, 0.8])
    c.source[1] = HOLE
    assert nms(c, 0.5, 10).source.tolist() == [HOLE]


def _greedy_nms(boxes: np.ndarray, score: np.ndarray, iou: float) -> set[int]:
    """Textbook greedy suppression over all pairs (the reference for the sweep)."""
    order = np.argsort(-score, kind="stable")
    m = iou_matrix(boxes, boxes)
    kept: list[int] = []
    for i in order.tolist():
        if all(m[i, k] <= iou for k in kept):
            kept.append(i)
    return set(kept)


@pytest.mark.parametrize("seed", range(5))
def test_sweep_nms_equals_greedy_over_all_pairs(seed):
    from rpa_vision.roi.boxes import overlapping_pairs

    rng = np.random.default_rng(seed)
    n = 400
    # Clusters of near-duplicates (what the proposal sources produce), of very different sizes,
    # some sharing a left edge, plus scattered boxes.
    base = np.concatenate([rng.uniform(0, 1500, (n, 2)), rng.uniform(4, 400, (n, 2))], axis=1)
    base[::7, 0] = 100.0
    jitter = base[rng.integers(0, n, n)] + rng.normal(0, 3, (n, 4))
    xywh = np.concatenate([base, jitter])
    xywh[:, 2:] = np.abs(xywh[:, 2:]) + 1
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1).astype(np.float32)
    score = rng.random(len(boxes)).astype(np.float32)
    for t in (0.3, 0.5, 0.7):
        i, j = overlapping_pairs(boxes, t)
        m = iou_matrix(boxes, boxes)
        want = {(a, b) for a, b in zip(*np.nonzero(np.triu(m > t + 1e-6, 1)), strict=True)}
        got = set(zip(i.tolist(), j.tolist(), strict=True))
        assert want <= got and all(m[a, b] > t - 1e-5 for a, b in got)
        z = np.zeros(len(boxes), np.float32)
        c = Candidates(boxes, np.zeros(len(boxes), np.int8), score, z, z.copy())
        kept = nms(c, t, 10_000)
        ref = _greedy_nms(boxes, score, t)
        assert sorted(map(tuple, kept.boxes.tolist())) == sorted(map(tuple, boxes[sorted(ref)].tolist()))


def test_regions_built_without_per_object_checks_are_valid_regions():
    ui = draw_ui(1.0)
    res = ROIOptimizer().propose(Frame.from_array(ui.image))
    assert res.regions
    for r in res.regions:  # the checked constructors accept every one and give equal objects
        again = Region(Box(r.box.x1, r.box.y1, r.box.x2, r.box.y2), r.kind, r.score, r.padded)
        assert again == r and hash(again) == hash(r)
        assert all(type(v) is float for v in (r.box.x1, r.box.y1, r.box.x2, r.box.y2, r.score))


def test_labelling_only_some_boxes_with_the_others_known_gives_the_same_kinds():
    from rpa_vision.roi.boxes import label_kinds
    from rpa_vision.roi.optimizer import working_gray
    from rpa_vision.roi.proposals import Limits, detect

    ui = draw_ui(1.0)
    cfg = ROIConfig()
    lim = Limits.of(cfg, (1920, 1080))
    c = nms(detect(working_gray(ui.image, "BGR", (1920, 1080)), cfg, lim), cfg.nms_iou, cfg.max_regions)
    full = label_kinds(c, lim)
    assert len(set(full.tolist())) == 4  # every kind occurs: the check below means something
    rng = np.random.default_rng(0)
    for frac in (0.02, 0.3, 0.9):
        known = full.copy()
        known[rng.random(len(c)) < frac] = -1
        assert np.array_equal(label_kinds(c, lim, known), full)
    wrong = np.where(full == 0, 1, 0).astype(np.int8)  # known values are taken as given
    assert np.array_equal(label_kinds(c, lim, wrong), wrong)


def test_nms_on_a_long_chain_of_overlapping_boxes_equals_greedy():
    """Each box overlaps the next one a little less well: many rounds, then one at a time."""
    n = 300
    x = np.arange(n, dtype=np.float32) * 2.0
    boxes = np.stack([x, np.zeros(n, np.float32), x + 40, np.full(n, 20, np.float32)], axis=1)
    score = np.linspace(1.0, 0.1, n).astype(np.float32)
    z = np.zeros(n, np.float32)
    kept = nms(Candidates(boxes, np.zeros(n, np.int8), score, z, z.copy()), 0.9, 10_000)
    ref = _greedy_nms(boxes, score, 0.9)
    assert len(ref) > 100  # the chain is long: the one-at-a-time part runs
    assert sorted(map(tuple, kept.boxes.tolist())) == sorted(map(tuple, boxes[sorted(ref)].tolist()))
