from __future__ import annotations

import math

import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box
from rpa_vision.fusion import (
    CandidateEvidence,
    FusionConfig,
    evidence_coverage,
    position_similarity,
    score_candidate,
    shape_similarity,
    visual_similarity,
)


def test_score_is_weighted_mean_over_available_evidence() -> None:
    cfg = FusionConfig(w_visual=2.0, w_text=1.0, w_shape=1.0, w_position=0.0, w_template=0.0)
    ev = CandidateEvidence(visual_sim=0.9, text_sim=0.3, shape_sim=None)
    assert score_candidate(ev, cfg) == pytest.approx((2 * 0.9 + 1 * 0.3) / 3)
    assert evidence_coverage(ev, cfg) == pytest.approx(3 / 4)


def test_missing_evidence_neither_rewards_nor_punishes() -> None:
    with_text = CandidateEvidence(visual_sim=0.8, text_sim=0.8, shape_sim=0.8)
    without = CandidateEvidence(visual_sim=0.8, shape_sim=0.8)
    assert score_candidate(with_text) == pytest.approx(score_candidate(without)) == pytest.approx(0.8)


def test_better_evidence_scores_higher() -> None:
    good = CandidateEvidence(0.9, 0.95, 0.9, 0.9, 0.85)
    bad = CandidateEvidence(0.9, 0.1, 0.9, 0.2, 0.85)
    assert score_candidate(good) > score_candidate(bad)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5", True])
def test_evidence_values_are_validated(value: object) -> None:
    with pytest.raises(ValidationError):
        CandidateEvidence(visual_sim=value)  # type: ignore[arg-type]


def test_no_usable_evidence_is_an_error() -> None:
    with pytest.raises(ValidationError):
        score_candidate(CandidateEvidence())
    only_zero_weight = FusionConfig(w_position=0.0)
    with pytest.raises(ValidationError):
        score_candidate(CandidateEvidence(position_sim=0.5), only_zero_weight)


def test_config_validation_and_roundtrip() -> None:
    with pytest.raises(ValidationError):
        FusionConfig(w_text=-1)
    with pytest.raises(ValidationError):
        FusionConfig(global_weight=float("inf"))
    with pytest.raises(ValidationError):
        FusionConfig(text_dim=0)
    with pytest.raises(ValidationError):
        FusionConfig(w_visual=0, w_text=0, w_shape=0, w_position=0, w_template=0)
    cfg = FusionConfig(w_text=0.5)
    assert FusionConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.with_(w_shape=0.2).w_shape == 0.2
    with pytest.raises(ValidationError, match="unknown fusion setting"):
        FusionConfig.from_dict({"w_txt": 1.0})


def test_shape_similarity() -> None:
    a = Box(0, 0, 100, 30)
    assert shape_similarity(a, a) == pytest.approx(1.0)
    assert shape_similarity(a, Box(10, 10, 160, 55), scale=1.5) == pytest.approx(1.0)  # scaled exactly as expected
    assert shape_similarity(a, (0, 0, 200, 60)) < 0.3  # twice as big, scale 1 expected
    assert shape_similarity(a, Box(0, 0, 30, 100)) < 0.01  # rotated aspect
    assert shape_similarity(a, Box(0, 0, 0, 10)) == 0.0
    with pytest.raises(ValidationError):
        shape_similarity(a, a, scale=0)
    with pytest.raises(ValidationError):
        shape_similarity(a, "nope")  # type: ignore[arg-type]


def test_position_similarity_absolute_and_relative() -> None:
    a = Box(100, 100, 140, 120)
    assert position_similarity(a, a) == 1.0
    assert position_similarity(a, a.translate(48, 0)) == pytest.approx(math.exp(-0.5))
    # the window moved and grew 2x: relative to it, the button did not move
    win_a, win_b = Box(50, 50, 250, 250), Box(400, 300, 800, 700)
    moved = Box(400 + 2 * 50, 300 + 2 * 50, 400 + 2 * 90, 300 + 2 * 70)
    assert position_similarity(a, moved, win_a, win_b) == pytest.approx(1.0)
    assert position_similarity(a, moved) < 1e-6
    with pytest.raises(ValidationError):
        position_similarity(a, a, win_a, None)


def test_visual_similarity_maps_cosine() -> None:
    assert visual_similarity(0.7) == 0.7 and visual_similarity(-0.3) == 0.0 and visual_similarity(1.0000001) == 1.0
    with pytest.raises(ValidationError):
        visual_similarity(float("nan"))
