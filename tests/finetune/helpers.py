"""Shared helpers for the fine-tuner tests (the generators live in the test bed)."""

from rpa_vision.testbed.synthetic import lookalike_icon as icon
from rpa_vision.testbed.synthetic import pixel_embed

__all__ = ["icon", "pixel_embed"]
