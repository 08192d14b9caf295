"""The Locator's links to the other perception packages, each with a local fallback.

* encoder: anything with ``embed(list_of_bgr) -> float32 (N, D)`` (``rpa_vision.embedding``
  encoders); without one, a weight-free orientation descriptor is used.
* OCR: anything with ``read(list_of_bgr) -> list[str]`` or ``recognize`` / ``__call__`` of the same
  shape (``rpa_vision.embedding.ocr``); ``None`` means "no text evidence".
* text similarity: ``rpa_vision.embedding.text.text_similarity`` when present, else a normalised
  edit ratio.
* ROI: anything with ``propose(frame).regions``; else contour proposals.

Heavy libraries are imported lazily, inside functions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rpa_vision.core.logging import get_logger
from rpa_vision.locate.features import orientation_descriptor

log = get_logger(__name__)

Adapter = Callable[[np.ndarray], np.ndarray]


def _norm_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[None, :]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


class DescriptorEncoder:
    """The fallback encoder: the orientation descriptor of ``features`` (no weights)."""

    name = "descriptor"

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, 128), np.float32)
        return np.stack([orientation_descriptor(im) for im in images]).astype(np.float32)


def default_encoder() -> Any:
    """The project's builtin encoder when the embedding package is present, else the descriptor."""
    try:
        from rpa_vision.embedding import create_encoder
    except ImportError:
        return DescriptorEncoder()
    try:
        return create_encoder("builtin")
    except Exception as exc:  # an encoder that cannot start must not stop locating
        log.warning("builtin encoder unavailable (%s); using the orientation descriptor", exc)
        return DescriptorEncoder()


def embed(encoder: Any, images: Sequence[np.ndarray], adapter: Adapter | None) -> np.ndarray:
    """L2-normalised embeddings of ``images``, passed through ``adapter`` when set."""
    vecs = _norm_rows(encoder.embed(list(images)))
    if adapter is not None:
        vecs = _norm_rows(adapter(vecs))
    return vecs


class RapidOcr:
    """Recognition-only OCR of small crops with rapidocr (loaded on first use)."""

    def __init__(self) -> None:
        self._engine: Any = None

    def _load(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR()
        return self._engine

    def read(self, images: Sequence[np.ndarray]) -> list[str]:
        eng = self._load()
        out: list[str] = []
        for im in images:
            res, _ = eng(im, use_det=False, use_cls=False, use_rec=True)
            out.append(str(res[0][0]).strip() if res else "")
        return out


def default_ocr() -> Any:
    """The project's OCR when present, else rapidocr when installed, else ``None``."""
    try:
        from rpa_vision.embedding.ocr import create_ocr

        return create_ocr()
    except ImportError:
        pass
    except Exception as exc:
        log.warning("OCR unavailable (%s)", exc)
        return None
    import importlib.util

    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        return None
    return RapidOcr()


def ocr_read(ocr: Any, images: Sequence[np.ndarray]) -> list[str]:
    """Texts of crops through whichever reading method the OCR object has."""
    if not images:
        return []
    for name in ("read", "recognize", "read_texts"):
        fn = getattr(ocr, name, None)
        if callable(fn):
            res = fn(list(images))
            break
    else:
        res = ocr(list(images))
    texts: list[str] = []
    for r in res:
        texts.append(r if isinstance(r, str) else str(getattr(r, "text", r)))
    return texts


_WS = re.compile(r"\s+")


def _canon(s: str) -> str:
    return _WS.sub(" ", s.strip().lower())


def text_similarity(a: str, b: str) -> float:
    """Similarity of two short texts in [0, 1] (``rpa_vision.embedding.text`` when present, else
    a normalised edit ratio after case/space normalisation)."""
    try:
        from rpa_vision.embedding import text as project_text
    except ImportError:
        x, y = _canon(a), _canon(b)
        if not x or not y:
            return 0.0
        return float(difflib.SequenceMatcher(None, x, y).ratio())
    return float(min(1.0, max(0.0, project_text.text_similarity(a, b))))


def roi_propose(roi: Any, frame: Any) -> list[object]:
    """Regions from an ROI optimizer object (``propose(frame).regions`` or a plain list)."""
    res = roi.propose(frame)
    regions = getattr(res, "regions", res)
    return list(regions)
