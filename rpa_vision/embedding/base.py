"""The encoder interface: crops in, float32 L2-normalised embeddings out.

Every encoder owns its preprocessing. Inputs are BGR uint8 ``HxWx3`` crops; gray (``HxW``,
``HxWx1``) and BGRA (``HxWx4``) are converted, anything else is a ``ValidationError``.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from rpa_vision.core.errors import EncoderError, ValidationError
from rpa_vision.core.frame import to_bgr, validate_image

#: Bump when the input conversion below changes (it is part of every encoder's provenance).
INPUT_VERSION = 1


def as_bgr(image: object, index: int = 0) -> np.ndarray:
    """One crop as a contiguous ``HxWx3`` BGR uint8 array (gray and BGRA are converted)."""
    arr = validate_image(image, f"image[{index}]")
    return to_bgr(arr, "BGRA" if arr.ndim == 3 and arr.shape[2] == 4 else "BGR")


def as_bgr_batch(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate and convert a batch; a bare array is refused (a batch is a sequence of crops)."""
    if isinstance(images, np.ndarray):
        if images.ndim == 4:  # a stacked batch N x H x W x C is fine
            return [as_bgr(images[i], i) for i in range(images.shape[0])]
        raise ValidationError(
            f"embed() takes a sequence of crops, got one array of shape {images.shape}; wrap it in a list",
            field="images",
        )
    try:
        items = list(images)
    except TypeError as exc:
        raise ValidationError(f"embed() takes a sequence of crops, got {type(images).__name__}",
                              field="images") from exc
    return [as_bgr(im, i) for i, im in enumerate(items)]


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(n, eps)).astype(np.float32, copy=False)


class Encoder(ABC):
    """Turns crops into embeddings of a fixed dimension.

    Subclasses set ``name`` and ``dim`` and implement ``_embed_batch`` (already validated BGR
    crops, at most ``batch_size`` of them) and ``provenance``.
    """

    name: str = "encoder"
    dim: int = 0
    batch_size: int = 64
    #: Set by ``create_encoder("auto")``: why this encoder was picked.
    chosen_because: str | None = None

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What produced the vectors: encoder, model, weights (tag, path, sha), dim, preprocessing."""

    def provenance(self) -> dict[str, Any]:
        """``describe()`` plus, for an auto-chosen encoder, ``chosen_because``."""
        d = dict(self.describe())
        if self.chosen_because:
            d["chosen_because"] = self.chosen_because
        return d

    @abstractmethod
    def _embed_batch(self, images: list[np.ndarray]) -> np.ndarray:
        """Embed validated BGR crops; returns ``(len(images), dim)``."""

    def embed(self, images: Sequence[np.ndarray], batch_size: int | None = None) -> np.ndarray:
        """``(N, dim)`` float32, L2-normalised rows; an empty sequence gives ``(0, dim)``."""
        crops = as_bgr_batch(images)
        bs = self.batch_size if batch_size is None else int(batch_size)
        if bs <= 0:
            raise ValidationError(f"batch size must be > 0, got {bs}", field="batch_size")
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for i in range(0, len(crops), bs):
            chunk = crops[i:i + bs]
            out = np.asarray(self._embed_batch(chunk), dtype=np.float32)
            if out.shape != (len(chunk), self.dim):
                raise EncoderError(
                    f"encoder {self.name} returned shape {out.shape}, expected {(len(chunk), self.dim)}",
                    encoder=self.name,
                )
            parts.append(out)
        vecs = l2_normalize(np.concatenate(parts, axis=0))
        if not np.all(np.isfinite(vecs)):
            raise EncoderError(f"encoder {self.name} produced non-finite values", encoder=self.name)
        return vecs

    def embed_one(self, image: np.ndarray) -> np.ndarray:
        """One crop's ``(dim,)`` embedding."""
        return self.embed([image])[0]

    def cache_key(self) -> str:
        """A short, stable string naming this encoder's output space (for cache keys)."""
        key = self.__dict__.get("_cache_key")
        if key is None:
            blob = json.dumps(self.describe(), sort_keys=True, default=str).encode()
            key = f"{self.name}-{hashlib.blake2b(blob, digest_size=8).hexdigest()}"
            self.__dict__["_cache_key"] = key
        return str(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"
