"""Shared helpers of the Locator tests: rendered scenes with known truth and a fast locator."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rpa_vision.core.geometry import Box
from rpa_vision.locate import Locator, LocatorConfig, TargetSpec
from rpa_vision.locate.evaluation import hit
from rpa_vision.locate.scenes import SceneSpec, perturbed, render_scene


@lru_cache(maxsize=16)
def scene(name: str = "", **extra: object) -> tuple[np.ndarray, dict[str, Box]]:
    base = SceneSpec()
    spec = perturbed(base, name, **extra) if name else base
    return render_scene(spec)


def fast_locator(**cfg: object) -> Locator:
    return Locator(config=LocatorConfig(use_ocr=False, **cfg))  # type: ignore[arg-type]


def target_of(element: str) -> TargetSpec:
    ref, boxes = scene()
    return TargetSpec.from_reference(ref, boxes[element])


__all__ = ["fast_locator", "hit", "scene", "target_of"]
