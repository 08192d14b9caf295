"""The builtin encoder: shape and normalisation contracts, bad input, and the invariances it is
designed for (theme inversion, re-rendering at another scale, small shifts) measured as top-1
retrieval on rendered GUI crops."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.embedding import create_encoder
from rpa_vision.embedding.builtin import BuiltinConfig, BuiltinEncoder
from rpa_vision.embedding.synthetic import Look, gallery, render_button, render_icon, top1_accuracy


@pytest.fixture(scope="module")
def enc() -> BuiltinEncoder:
    return BuiltinEncoder()


def test_shape_dtype_and_unit_norm(enc: BuiltinEncoder) -> None:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (int(rng.integers(5, 80)), int(rng.integers(5, 200)), 3), np.uint8)
             for _ in range(20)]
    v = enc.embed(crops)
    assert v.shape == (20, enc.dim) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert enc.dim == BuiltinConfig().dim


def test_empty_list_gives_zero_rows(enc: BuiltinEncoder) -> None:
    assert enc.embed([]).shape == (0, enc.dim)


def test_batched_equals_one_by_one(enc: BuiltinEncoder) -> None:
    _, crops = gallery()
    together = enc.embed(crops, batch_size=7)
    alone = np.stack([enc.embed_one(c) for c in crops])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_a_batch_split_over_threads_gives_the_same_vectors() -> None:
    _, crops = gallery()
    crops = (crops * 4)[:70]  # enough for two threads of at least min_crops_per_thread
    one = BuiltinEncoder(threads=1).embed(crops)
    two = BuiltinEncoder(threads=2)
    assert len(crops) // two.min_crops_per_thread >= 2
    np.testing.assert_allclose(two.embed(crops), one, atol=1e-5)
    assert two._executor is not None  # the split really happened


def test_gray_bgra_noncontiguous_and_tiny_inputs(enc: BuiltinEncoder) -> None:
    crop = render_button("Save")
    gray = crop[:, :, 1].copy()
    bgra = np.dstack([crop, np.full(crop.shape[:2], 255, np.uint8)])
    noncontig = np.asfortranarray(crop)[:, ::1]
    strided = np.ascontiguousarray(np.repeat(crop, 2, axis=1))[:, ::2]
    v = enc.embed([crop, gray, gray[:, :, None], bgra, noncontig, strided])
    np.testing.assert_allclose(v[3], v[0], atol=1e-6)  # alpha is ignored
    np.testing.assert_allclose(v[4], v[0], atol=1e-6)
    np.testing.assert_allclose(v[5], v[0], atol=1e-6)
    assert float(v[1] @ v[0]) > 0.9  # gray of a gray-ish button looks the same
    tiny = enc.embed([np.zeros((1, 1, 3), np.uint8), np.full((1, 1), 7, np.uint8), np.zeros((1, 300, 3), np.uint8)])
    assert np.all(np.isfinite(tiny)) and np.allclose(np.linalg.norm(tiny, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("bad", [
    np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 2), np.uint8), "not an image",
    np.zeros((2, 3, 4, 4, 3), np.uint8),
])
def test_bad_input_is_a_validation_error(enc: BuiltinEncoder, bad: object) -> None:
    with pytest.raises(ValidationError):
        enc.embed([bad])  # type: ignore[list-item]


def test_a_bare_array_is_not_a_batch(enc: BuiltinEncoder) -> None:
    with pytest.raises(ValidationError, match="sequence of crops"):
        enc.embed(render_button("OK"))
    stacked = np.stack([render_icon("disc"), render_icon("cross")])
    assert enc.embed(stacked).shape == (2, enc.dim)  # an N x H x W x C stack is a batch


def test_inverted_theme_gives_the_same_vector(enc: BuiltinEncoder) -> None:
    _, light = gallery(Look("light"))
    _, inv = gallery(Look("inverted"))
    sims = np.sum(enc.embed(light) * enc.embed(inv), axis=1)
    assert sims.min() > 0.999


@pytest.mark.parametrize("look", [
    Look("dark"), Look("inverted", 1.5), Look("light", 1.25, (1, 1)), Look("dark", 2.0), Look("colour", 1.5),
    Look("light", 1.0, (0, 0), 1), Look("dark", 1.5, (2, 1), 1),
], ids=str)
def test_top1_retrieval_under_theme_scale_shift_font(enc: BuiltinEncoder, look: Look) -> None:
    _, ref = gallery()
    _, q = gallery(look)
    assert top1_accuracy(enc.embed(ref), enc.embed(q)) >= 0.9


def test_it_tells_different_elements_apart(enc: BuiltinEncoder) -> None:
    _, ref = gallery()
    v = enc.embed(ref)
    sims = v @ v.T
    np.fill_diagonal(sims, -1)
    assert sims.max() < 0.985  # no two different labels/icons collapse onto one vector
    # and a naive pixel thumbnail would be theme-blind: prove the test can fail
    from rpa_vision.testbed.synthetic import pixel_embed

    _, dark = gallery(Look("dark"))
    assert top1_accuracy(pixel_embed(ref), pixel_embed(dark)) < 0.5


def test_provenance_and_registry() -> None:
    e = create_encoder("builtin")
    p = e.provenance()
    assert p["encoder"] == "builtin" and p["dim"] == e.dim and "preprocessing" in p and p["weights"] is None
    assert e.cache_key() == BuiltinEncoder().cache_key()
    assert e.cache_key() != BuiltinEncoder(BuiltinConfig(w_colour=0.5)).cache_key()


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        BuiltinConfig(canonical=4)
    with pytest.raises(ValidationError):
        BuiltinConfig(w_fine=-1)
    with pytest.raises(ValidationError):
        BuiltinEncoder(batch_size=0)
    with pytest.raises(ValidationError, match="threads"):
        BuiltinEncoder(threads=0)
    with pytest.raises(ValidationError):
        BuiltinEncoder().embed([render_icon("disc")], batch_size=0)


def test_8k_and_degenerate_crops(enc: BuiltinEncoder) -> None:
    """An 8K crop, a one-pixel-high strip and a 1x1 crop: finite unit vectors, no error."""
    big = np.full((4320, 7680, 3), 230, np.uint8)
    big[2000:2300, 3000:4600] = 30
    v = enc.embed([big, np.full((1, 8000, 3), 90, np.uint8), np.zeros((1, 1, 3), np.uint8)])
    assert v.shape == (3, enc.dim) and np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
