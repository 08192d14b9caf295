from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.fusion import FusionConfig, pool_regions, state_dim, state_similarity, state_vector


def _unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_dimension_is_fixed_whatever_is_available() -> None:
    rng = np.random.default_rng(0)
    g = _unit_rows(rng, 1, 16)[0]
    cfg = FusionConfig(text_dim=32, layout_grid=4)
    full = state_vector(g, _unit_rows(rng, 5, 16), None, _unit_rows(rng, 1, 32)[0], _unit_rows(rng, 1, 32)[0], cfg,
                        _unit_rows(rng, 1, 16)[0])
    bare = state_vector(g, config=cfg)
    no_regions = state_vector(g, np.zeros((0, 16), np.float32), config=cfg)
    for v in (full, bare, no_regions):
        assert v.shape == (state_dim(16, cfg),) == (2 * 16 + 2 * 32 + 4 * 4,)
        assert v.dtype == np.float32 and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    np.testing.assert_allclose(bare, no_regions)


def test_blocks_carry_their_weights() -> None:
    rng = np.random.default_rng(1)
    d, t = 8, 16
    cfg = FusionConfig(global_weight=1.0, regions_weight=0.5, text_weight=0.25, title_weight=0.0, text_dim=t,
                       layout_weight=2.0, layout_grid=3)
    g, r, tv = _unit_rows(rng, 1, d)[0], _unit_rows(rng, 3, d), _unit_rows(rng, 1, t)[0]
    lay = _unit_rows(rng, 1, 9)[0] * 5.0  # any length: the block is normalised
    v = state_vector(g, r, None, tv, _unit_rows(rng, 1, t)[0], cfg, lay)
    cuts = ((0, d), (d, 2 * d), (2 * d, 2 * d + t), (2 * d + t, 2 * d + 2 * t), (2 * d + 2 * t, None))
    norms = [float(np.linalg.norm(v[a:b])) for a, b in cuts]
    total = np.sqrt(1.0 + 0.25 + 0.0625 + 4.0)
    np.testing.assert_allclose(norms, [1.0 / total, 0.5 / total, 0.25 / total, 0.0, 2.0 / total], atol=1e-5)
    np.testing.assert_allclose(v[2 * d + 2 * t:] * total / 2.0, lay / np.linalg.norm(lay), atol=1e-5)


def test_layout_block_can_be_left_out() -> None:
    g = np.ones(4, np.float32)
    cfg = FusionConfig(text_dim=2, layout_grid=0)
    assert state_dim(4, cfg) == 2 * 4 + 2 * 2
    assert state_vector(g, config=cfg, layout_vec=np.ones(9)).shape == (12,)  # ignored without a block
    with pytest.raises(ValidationError):
        FusionConfig(layout_grid=-1)
    with pytest.raises(ValidationError):
        state_vector(g, config=FusionConfig(layout_grid=3), layout_vec=np.ones(8))  # wrong dimension


def test_similar_screens_are_closer_than_different_ones() -> None:
    rng = np.random.default_rng(2)
    g, regions = _unit_rows(rng, 1, 32)[0], _unit_rows(rng, 10, 32)
    a = state_vector(g, regions)
    noisy_regions = regions + rng.normal(0, 0.05, regions.shape).astype(np.float32)
    b = state_vector(g + rng.normal(0, 0.05, 32).astype(np.float32), noisy_regions[::-1])  # order does not matter
    other = state_vector(_unit_rows(rng, 1, 32)[0], _unit_rows(rng, 10, 32))
    assert state_similarity(a, b) > 0.95 > state_similarity(a, other)


def test_region_pooling_weights_and_max() -> None:
    r = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    mean_only = FusionConfig(region_max_mix=0.0)
    np.testing.assert_allclose(pool_regions(r, np.array([3.0, 1.0]), mean_only), np.array([3, 1, 0]) / np.sqrt(10),
                               atol=1e-6)
    np.testing.assert_allclose(pool_regions(r, np.array([0.0, 0.0]), mean_only), np.array([1, 1, 0]) / np.sqrt(2),
                               atol=1e-6)  # all-zero weights: equal weights
    with_max = pool_regions(r, np.array([10.0, 0.1]))
    assert with_max[1] > pool_regions(r, np.array([10.0, 0.1]), mean_only)[1]  # max pooling lifts the rare region
    assert pool_regions(np.zeros((0, 3), np.float32)).tolist() == [0, 0, 0]


@pytest.mark.parametrize("kwargs", [
    {"global_emb": np.zeros(0)}, {"global_emb": np.full(4, np.nan)}, {"global_emb": np.zeros((2, 2))},
    {"global_emb": np.ones(4), "region_embs": np.ones((2, 5))},
    {"global_emb": np.ones(4), "region_embs": np.ones((2, 4)), "region_weights": np.ones(3)},
    {"global_emb": np.ones(4), "region_embs": np.ones((2, 4)), "region_weights": np.array([1.0, -1.0])},
    {"global_emb": np.ones(4), "text_vec": np.ones(7)},
    {"global_emb": np.zeros(4)},
])
def test_bad_input(kwargs: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValidationError):
        state_vector(**kwargs)  # type: ignore[arg-type]


def test_similarity_needs_equal_dimensions() -> None:
    with pytest.raises(ValidationError):
        state_similarity(np.ones(4), np.ones(5))
