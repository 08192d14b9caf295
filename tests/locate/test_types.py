from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box
from rpa_vision.locate import Anchor, Candidate, LocatorConfig, TargetSpec


def _ref() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (100, 200, 3), dtype=np.uint8)


def test_from_reference_cuts_the_crop() -> None:
    ref = _ref()
    t = TargetSpec.from_reference(ref, Box(10, 20, 50, 40))
    assert t.crop.shape == (20, 40, 3)
    assert np.array_equal(t.crop, ref[20:40, 10:50])
    assert t.reference is not None and t.text is None


@pytest.mark.parametrize("box", [Box(10, 10, 10, 30), Box(150, 50, 260, 70), Box(-20, 0, 10, 10)])
def test_from_reference_rejects_empty_or_outside_boxes(box: Box) -> None:
    with pytest.raises(ValidationError):
        TargetSpec.from_reference(_ref(), box)


def test_target_validation() -> None:
    crop = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValidationError):
        TargetSpec(np.zeros((10, 10), np.float32), Box(0, 0, 10, 10))
    with pytest.raises(ValidationError):
        TargetSpec(crop, Box(0, 0, 0, 10))
    with pytest.raises(ValidationError):
        TargetSpec(crop, Box(0, 0, 10, 10), anchors=("label",))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        TargetSpec(crop, Box(0, 0, 10, 10), reference_scale=0.0)
    with pytest.raises(ValidationError):
        TargetSpec(crop, Box(0, 0, 10, 10), embedding=np.array([np.nan]))
    with pytest.raises(ValidationError):
        Anchor("x", Box(0, 0, 0, 0))
    gray = TargetSpec(np.zeros((10, 12), np.uint8), Box(0, 0, 12, 10))
    assert gray.crop.shape == (10, 12, 3)


def test_candidate_json_contract() -> None:
    c = Candidate(Box(1, 2, 30, 40), 0.75, 0.8, {"template": 0.9}, 1.25)
    j = c.to_json()
    assert j["xyxy"] == [1, 2, 30, 40]
    assert set(j) == {"xyxy", "confidence", "score", "evidence", "scale"}
    with pytest.raises(ValidationError):
        Candidate(Box(0, 0, 1, 1), 1.5, 0.1, {}, 1.0)
    with pytest.raises(ValidationError):
        Candidate(Box(0, 0, 1, 1), 0.5, 0.1, {}, 0.0)


def test_config_validation() -> None:
    LocatorConfig()
    with pytest.raises(ValidationError):
        LocatorConfig(scales=())
    with pytest.raises(ValidationError):
        LocatorConfig(weights={"colour": 1.0})
    with pytest.raises(ValidationError):
        LocatorConfig(weights={"template": 0.0})
    with pytest.raises(ValidationError):
        LocatorConfig(act_threshold=1.5)
    with pytest.raises(ValidationError):
        LocatorConfig(calibration=(1.0, 2.0))  # type: ignore[arg-type]
