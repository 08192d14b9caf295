"""Perceiver: state vector, cached screens, lazy region embeddings, carry-over across dirty frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpa_vision.core import Box, Frame, ValidationError, content_hash
from rpa_vision.core.errors import EncoderError
from rpa_vision.fusion import FusionConfig, state_dim
from rpa_vision.fusion import state_vector as fusion_state_vector
from rpa_vision.perception import PerceivedScreen, Perceiver, PerceiverConfig, PerceptionError, thumbnail
from rpa_vision.perception.layout import layout_vector
from rpa_vision.perception.window import window_frame
from rpa_vision.roi import ROIConfig, ROIOptimizer
from tests.roi.synthetic_ui import draw_ui


class FakeEncoder:
    """8x4 gray thumbnail + mean colour, L2-normalised; records every batch it embeds."""

    name = "fake"
    dim = 35

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.shapes: list[tuple[int, ...]] = []

    def embed(self, images):
        self.batches.append(len(images))
        out = np.zeros((len(images), self.dim), np.float32)
        for i, im in enumerate(images):
            assert im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3
            self.shapes.append(im.shape)
            g = cv2.resize(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), (8, 4), interpolation=cv2.INTER_AREA)
            v = np.concatenate([g.ravel().astype(np.float32) - 128, im.reshape(-1, 3).mean(0)])
            out[i] = v / (np.linalg.norm(v) + 1e-6)
        return out

    @property
    def embedded(self) -> int:
        return sum(self.batches)


@pytest.fixture(scope="module")
def ui():
    return draw_ui(1.0)


def _frame(img: np.ndarray, channels: str = "BGR") -> Frame:
    return Frame.from_array(np.ascontiguousarray(img), channels)  # type: ignore[arg-type]


def test_perceive_gives_regions_and_a_unit_state_vector(ui):
    enc = FakeEncoder()
    p = Perceiver(enc)
    s = p.perceive(_frame(ui.image))
    assert isinstance(s, PerceivedScreen) and not s.cached
    assert len(s.regions) > 20
    assert s.regions == ROIOptimizer().propose(_frame(ui.image)).regions
    assert s.global_embedding.dtype == np.float32 and s.global_embedding.shape == (enc.dim,)
    assert s.state_vector.dtype == np.float32 and s.state_vector.shape == (state_dim(enc.dim),)
    for v in (s.state_vector, s.global_embedding):
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    # the fusion rules' vector: the global block and the layout of the window it was computed from
    assert s.window is not None and s.window.iou(ui.panels[0]) > 0.97
    layout = layout_vector(window_frame(s.frame, s.window), FusionConfig().layout_grid)
    expect = fusion_state_vector(s.global_embedding, layout_vec=layout)
    assert np.allclose(s.state_vector, expect, atol=1e-6)
    assert {"roi", "window", "global", "state", "total"} <= set(s.timings_ms)
    assert enc.batches == [1]  # only the global thumbnail: region embeddings are lazy
    assert max(enc.shapes[0][:2]) <= 640


def test_unchanged_frame_returns_the_cached_screen(ui):
    enc = FakeEncoder()
    p = Perceiver(enc)
    first = p.perceive(_frame(ui.image))
    first.region_embeddings([0, 1])
    n = enc.embedded
    again = p.perceive(_frame(ui.image.copy()))
    assert again.cached and again.key == first.key
    assert np.array_equal(again.state_vector, first.state_vector)
    assert again.computed() == 2  # shares what the first view embedded
    again.region_embeddings([0, 1])
    assert enc.embedded == n
    assert p.stats()["screens"] == {"hits": 1, "misses": 1, "entries": 1}


def test_region_embeddings_are_lazy_batched_and_kept(ui):
    enc = FakeEncoder()
    s = Perceiver(enc).perceive(_frame(ui.image))
    e = s.region_embeddings([3, 1, 3])
    assert e.shape == (3, enc.dim) and np.array_equal(e[0], e[2])
    assert enc.batches[1:] == [2]  # one batch, duplicates embedded once
    all_ = s.region_embeddings()
    assert all_.shape == (len(s.regions), enc.dim)
    assert np.allclose(np.linalg.norm(all_, axis=1), 1.0, atol=1e-5)
    # one more batch: every distinct crop content not embedded yet, once
    hashes = [content_hash(s.frame.crop(r.box)) for r in s.regions]
    assert enc.batches[2:] == [len(set(hashes) - {hashes[1], hashes[3]})]
    s.region_embeddings()
    assert len(enc.batches) == 3
    assert s.region_embeddings([]).shape == (0, enc.dim)
    with pytest.raises(ValidationError):
        s.region_embeddings([len(s.regions)])


def test_region_embedding_is_the_encoders_view_of_the_crop(ui):
    enc = FakeEncoder()
    s = Perceiver(enc).perceive(_frame(ui.image))
    i = next(k for k, r in enumerate(s.regions) if r.kind == "widget")
    crop = s.frame.crop(s.regions[i].box)
    assert np.allclose(s.region_embeddings([i])[0], FakeEncoder().embed([crop])[0], atol=1e-6)


def test_big_crops_are_shrunk_before_embedding():
    img = np.full((2160, 3840, 3), 230, np.uint8)
    cv2.rectangle(img, (100, 100), (3000, 2000), (40, 40, 40), 3)
    enc = FakeEncoder()
    s = Perceiver(enc, config=PerceiverConfig(max_crop_px=300)).perceive(_frame(img))
    s.region_embeddings()
    assert len(s.regions) >= 1
    assert max(max(sh[:2]) for sh in enc.shapes[1:]) <= 300


def _changed(ui, box: Box) -> np.ndarray:
    img = ui.image.copy()
    x1, y1, x2, y2 = box.as_int_tuple()
    cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), (180, 220, 250), -1)
    cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), (30, 30, 30), 1)
    cv2.putText(img, "Go", (x1 + 10, y2 - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def test_dirty_frames_reembed_only_regions_touching_the_change(ui):
    enc = FakeEncoder()
    p = Perceiver(enc)
    s1 = p.perceive(_frame(ui.image))
    s1.region_embeddings()
    box = Box(1400, 600, 1500, 632)
    s2 = p.perceive(_frame(_changed(ui, box)), [box])
    assert s2.roi.incremental
    hits_before = p.cache.get_stats().hits
    before = enc.embedded
    e2 = s2.region_embeddings()
    touching = [r for r in s2.regions if r.box.expand(2).intersection(box) is not None]
    assert 1 <= len(touching) < len(s2.regions) // 4
    assert enc.embedded - before == len(touching)
    assert p.cache.get_stats().hits == hits_before  # the rest was inherited, not even looked up
    # and the inherited vectors are right for the new frame
    fresh = Perceiver(FakeEncoder()).perceive(_frame(_changed(ui, box))).region_embeddings()
    assert np.allclose(e2, fresh, atol=1e-6)


def test_without_dirty_rects_unchanged_crops_come_from_the_embedding_cache(ui):
    enc = FakeEncoder()
    p = Perceiver(enc)
    p.perceive(_frame(ui.image)).region_embeddings()
    box = Box(1400, 600, 1500, 632)
    s2 = p.perceive(_frame(_changed(ui, box)))  # no dirty rects: nothing inherited
    before = enc.embedded
    s2.region_embeddings()
    assert 1 <= enc.embedded - before < len(s2.regions) // 4
    assert p.cache.get_stats().hits > 0


def test_state_regions_pool_into_the_state_vector(ui):
    enc = FakeEncoder()
    s = Perceiver(enc, config=PerceiverConfig(state_regions=8)).perceive(_frame(ui.image))
    assert enc.batches == [1, 8]
    assert s.computed() == 8
    assert np.linalg.norm(s.state_vector) == pytest.approx(1.0, abs=1e-5)
    d = enc.dim
    assert np.linalg.norm(s.state_vector[d:2 * d]) > 0.1  # the pooled-regions block is filled
    assert s.window is not None
    inside = [i for i in range(len(s.regions)) if s.window.contains(s.regions[i].box.center)]
    assert len(inside) < len(s.regions)  # the desktop's icons are not part of the state
    idx = sorted(inside, key=lambda i: (s.regions[i].kind not in ("widget", "icon"), -s.regions[i].score, i))[:8]
    weights = np.array([s.regions[i].score for i in idx], np.float32)
    layout = layout_vector(window_frame(s.frame, s.window), FusionConfig().layout_grid)
    expect = fusion_state_vector(s.global_embedding, s.region_embeddings(idx), weights, layout_vec=layout)
    assert np.allclose(s.state_vector, expect, atol=1e-6)


def test_state_vector_tells_screens_apart(ui):
    p = Perceiver(FakeEncoder())
    a = p.perceive(_frame(ui.image)).state_vector
    b = p.perceive(_frame(255 - ui.image)).state_vector
    c = p.perceive(_frame(_changed(ui, Box(1400, 600, 1500, 632)))).state_vector
    assert a @ c > a @ b


@pytest.mark.parametrize("channels", ["BGRA", "RGB", "GRAY"])
def test_every_channel_order(ui, channels):
    conv = {"BGRA": cv2.COLOR_BGR2BGRA, "RGB": cv2.COLOR_BGR2RGB, "GRAY": cv2.COLOR_BGR2GRAY}[channels]
    s = Perceiver(FakeEncoder()).perceive(_frame(cv2.cvtColor(ui.image, conv), channels))
    assert len(s.regions) > 20 and s.region_embeddings([0]).shape == (1, 35)


def test_thumbnail_fits_and_keeps_colours():
    img = np.zeros((2160, 3840, 4), np.uint8)
    img[:, :, 2] = 200  # red in BGRA
    t = thumbnail(Frame.from_array(img, "BGRA"), (640, 360))
    assert t.shape == (360, 640, 3) and t[..., 2].min() == 200 and t[..., :2].max() == 0
    assert thumbnail(Frame.from_array(np.zeros((1, 1), np.uint8), "GRAY"), (640, 360)).shape == (1, 1, 3)
    assert thumbnail(Frame.from_array(np.zeros((1000, 10, 3), np.uint8)), (640, 360)).shape == (360, 4, 3)


def test_tiny_and_blank_frames():
    p = Perceiver(FakeEncoder())
    for img in (np.zeros((1, 1), np.uint8), np.full((1080, 1920), 200, np.uint8)):
        s = p.perceive(Frame.from_array(img, "GRAY"))
        assert s.regions == () and s.region_embeddings().shape == (0, 35)
        assert s.state_vector.shape == (state_dim(35),)


def test_bad_input_is_a_clear_error(ui):
    with pytest.raises(ValidationError):
        Perceiver(object())
    with pytest.raises(ValidationError):
        Perceiver(FakeEncoder(), config=ROIConfig())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        PerceiverConfig(thumb_size=(8, 8))
    with pytest.raises(ValidationError):
        PerceiverConfig(state_regions=-1)
    with pytest.raises(ValidationError):
        PerceiverConfig(fusion=ROIConfig())  # type: ignore[arg-type]
    with pytest.raises(PerceptionError):
        Perceiver(FakeEncoder()).perceive(ui.image)  # type: ignore[arg-type]

    class Broken(FakeEncoder):
        def embed(self, images):
            return np.zeros((len(images), 3), np.float32)

    with pytest.raises(EncoderError):
        Perceiver(Broken()).perceive(_frame(ui.image))


def test_ocr_reads_region_texts(ui):
    class FakeOCR:
        def read(self, crops):
            return [f"{c.shape[1]}x{c.shape[0]}" for c in crops]

    p = Perceiver(FakeEncoder(), ocr=FakeOCR())
    s = p.perceive(_frame(ui.image))
    r = s.regions[0].box
    assert p.read_texts(s, [0]) == [f"{int(r.width)}x{int(r.height)}"]
    assert Perceiver(FakeEncoder()).read_texts(s, [0, 1]) == ["", ""]


def test_provenance_and_shared_roi(ui):
    roi = ROIOptimizer(ROIConfig(max_regions=10))
    p = Perceiver(FakeEncoder(), roi=roi)
    s = p.perceive(_frame(ui.image))
    assert len(s.regions) == 10 and p.roi is roi
    prov = p.provenance()
    assert prov["encoder"]["name"] == "fake" and prov["roi"]["max_regions"] == 10


def test_with_the_builtin_encoder(ui):
    from rpa_vision.embedding import create_encoder

    enc = create_encoder("builtin")
    p = Perceiver(enc)
    s = p.perceive(_frame(ui.image))
    assert s.state_vector.shape == (state_dim(enc.dim),)
    e = s.region_embeddings([0, 1])
    assert e.shape == (2, enc.dim) and np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert p.cache.get_stats().entries >= 3


def test_region_pixels_match_the_frame_crop_when_small(ui):
    from rpa_vision.perception import region_pixels

    rgba = cv2.cvtColor(ui.image, cv2.COLOR_BGR2RGBA)
    f = Frame.from_array(rgba, "RGBA")
    b = ui.buttons[0]
    assert np.array_equal(region_pixels(f, b, None), f.crop(b))
    assert np.array_equal(region_pixels(f, b, 1000), ui.image[int(b.y1):int(b.y2), int(b.x1):int(b.x2)])
    small = region_pixels(f, ui.panels[0], 100)
    assert max(small.shape[:2]) == 100 and small.shape[2] == 3
    with pytest.raises(ValidationError):
        region_pixels(f, Box(5000, 5000, 5100, 5100), 100)


def test_embed_boxes_uses_the_same_cache(ui):
    enc = FakeEncoder()
    p = Perceiver(enc)
    s = p.perceive(_frame(ui.image))
    i = next(k for k, r in enumerate(s.regions) if r.kind == "widget")
    v = s.region_embeddings([i])[0]
    n = enc.embedded
    got = p.embed_boxes(s.frame, [s.regions[i].box, ui.icons[0]])
    assert np.allclose(got[0], v) and enc.embedded == n + 1  # the region came from the cache
    assert p.embed_boxes(s.frame, []).shape == (0, enc.dim)


def test_a_broken_encoder_fails_clearly_on_regions_too(ui):
    class LateBroken(FakeEncoder):
        def embed(self, images):
            out = super().embed(images)
            return out if len(self.batches) == 1 else out[:, :3]

    s = Perceiver(LateBroken()).perceive(_frame(ui.image))
    with pytest.raises(EncoderError):
        s.region_embeddings([0])


def test_fusion_weights_come_from_the_config(ui):
    cfg = PerceiverConfig(state_regions=4, fusion=FusionConfig(regions_weight=0.0, layout_weight=0.0))
    s = Perceiver(FakeEncoder(), config=cfg).perceive(_frame(ui.image))
    assert np.allclose(s.state_vector[:35], s.global_embedding, atol=1e-6)
    assert np.allclose(s.state_vector[35:], 0.0)


def test_8k_non_contiguous_and_empty_frames_with_the_builtin_encoder(ui):
    """An 8K BGRA frame, strided and channel-reversed views (no copy made by the caller) and an
    empty array: regions in full-resolution pixels and unit vectors, or one clear error."""
    from rpa_vision.embedding import create_encoder

    p = Perceiver(create_encoder("builtin"))
    h, w = ui.image.shape[:2]
    big = cv2.resize(cv2.cvtColor(ui.image, cv2.COLOR_BGR2BGRA), (4 * w, 4 * h), interpolation=cv2.INTER_NEAREST)
    s8k = p.perceive(Frame.from_array(big, "BGRA"))
    assert len(s8k.regions) > 20
    assert max(r.box.x2 for r in s8k.regions) > 2 * w  # boxes are in the 8K frame's pixels
    assert np.isfinite(s8k.state_vector).all() and abs(np.linalg.norm(s8k.state_vector) - 1) < 1e-4
    strided = big[::4, ::4]  # a view of the 8K frame, back at the base size
    assert not strided.flags["C_CONTIGUOUS"]
    s1 = p.perceive(Frame.from_array(strided, "BGRA"))
    reversed_view = ui.image[:, :, ::-1]  # RGB as a view with a negative stride
    s2 = p.perceive(Frame.from_array(reversed_view, "RGB"))
    base = p.perceive(_frame(ui.image))
    for s in (s1, s2):
        assert len(s.regions) == len(base.regions)
        v = s.region_embeddings()
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValidationError):
        p.perceive(Frame.from_array(np.zeros((0, 0, 3), np.uint8)))
