"""Screen state vectors for workflows: which encoder makes them and how two are compared.

The replayer compares the current screen with a step's stored state prototypes. The vector
comes from the perception pipeline when it is available (``PerceiverStateEncoder``); the
built-in ``ThumbnailStateEncoder`` needs no model: a small grey thumbnail of the screen and
a coarse colour histogram, so a clock or a caret changes the score only a little while another
application or an empty desktop changes it a lot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from rpa_vision.core.frame import Frame

THUMB_WH = (64, 36)


@runtime_checkable
class StateEncoder(Protocol):
    name: str

    def state_vector(self, frame: Frame) -> np.ndarray: ...

    def provenance(self) -> dict[str, Any]: ...


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class ThumbnailStateEncoder:
    """Weight-free state vector: a mean-centred 64x36 grey thumbnail plus an 8x8x8 colour histogram."""

    name = "thumb64"

    def state_vector(self, frame: Frame) -> np.ndarray:
        bgr = frame.bgr()
        small = cv2.resize(bgr, THUMB_WH, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        layout = _unit(gray - gray.mean()) if float(gray.std()) > 1.0 else np.zeros(gray.size, np.float32)
        step = max(1, int(np.sqrt(bgr.shape[0] * bgr.shape[1] / 40000)))
        sample = bgr[::step, ::step].reshape(-1, 3)
        hist = np.histogramdd(sample // 32, bins=(8, 8, 8), range=((0, 8), (0, 8), (0, 8)))[0]
        colour = _unit(np.sqrt(hist.reshape(-1)))
        return _unit(np.concatenate([layout, colour]))

    def provenance(self) -> dict[str, Any]:
        return {"name": self.name, "thumb_wh": list(THUMB_WH), "histogram": "8x8x8 sqrt"}


class PerceiverStateEncoder:
    """The perception pipeline's state vector (``rpa_vision.perception.Perceiver``)."""

    def __init__(self, perceiver: Any) -> None:
        self.perceiver = perceiver
        enc = getattr(perceiver, "encoder", None)
        self.name = "perceiver:" + str(getattr(enc, "name", type(perceiver).__name__))

    def state_vector(self, frame: Frame) -> np.ndarray:
        return _unit(np.asarray(self.perceiver.perceive(frame).state_vector, dtype=np.float32))

    def provenance(self) -> dict[str, Any]:
        prov = getattr(self.perceiver, "provenance", None)
        info = prov() if callable(prov) else prov
        return {"name": self.name, **(dict(info) if isinstance(info, dict) else {})}


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity clipped to [0, 1]; 0 for vectors of different length (other encoder)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    b = np.asarray(b, dtype=np.float32).reshape(-1)
    if a.size != b.size or a.size == 0:
        return 0.0
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), 0.0, 1.0))


def best_similarity(vec: np.ndarray, prototypes: Iterable[np.ndarray]) -> float | None:
    """The best similarity to any prototype; None when there is no comparable prototype."""
    scores = [similarity(vec, p) for p in prototypes if np.asarray(p).size == np.asarray(vec).size]
    return max(scores) if scores else None


def thumbnail(frame: Frame, max_width: int = 480) -> np.ndarray:
    bgr = frame.bgr()
    h, w = bgr.shape[:2]
    if w <= max_width:
        return bgr.copy()
    s = max_width / w
    return cv2.resize(bgr, (max_width, max(1, int(round(h * s)))), interpolation=cv2.INTER_AREA)
