"""The adapter: a small residual linear map on top of base embeddings.

``adapted = normalize(x + x @ W.T + b)``. ``W = 0, b = 0`` is the identity, so a fresh adapter
changes nothing; training moves it only as far as the examples ask (weight decay pulls it back).
Applying it is numpy only, so perception never needs torch.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rpa_vision.core.atomic import atomic_write_bytes
from rpa_vision.core.errors import CorruptFileError, ProvenanceMismatchError, StorageError, ValidationError

ADAPTER_SCHEMA_VERSION = 1


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


_IDENTITY_KEYS = ("name", "encoder", "dim", "model", "weights", "pretrained", "preprocessing", "quantized", "config")


def encoder_identity(provenance: dict[str, Any]) -> dict[str, Any]:
    """What makes two encoders produce the same embedding space (a weights file's path is left out:
    moving the file changes nothing, its fingerprint or tag does)."""
    out: dict[str, Any] = {}
    for k in _IDENTITY_KEYS:
        v = provenance.get(k)
        if k == "weights" and isinstance(v, dict):
            v = v.get("fingerprint") or v.get("tag") or v.get("sha")
        out[k] = v
    return out


@dataclass(frozen=True, eq=False)
class Adapter:
    """A trained (or identity) adapter for one encoder and dimension."""

    weight: np.ndarray  # (dim, dim) float32, the residual
    bias: np.ndarray  # (dim,) float32
    version: int = 0
    encoder: dict[str, Any] = field(default_factory=dict)  # the base encoder's provenance
    metrics: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        w, b = self.weight, self.bias
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise ValidationError(f"adapter weight must be square, got {w.shape}", field="weight")
        if b.shape != (w.shape[0],):
            raise ValidationError(f"adapter bias must be ({w.shape[0]},), got {b.shape}", field="bias")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValidationError("adapter parameters must be finite", field="weight")

    @classmethod
    def identity(cls, dim: int, encoder: dict[str, Any] | None = None) -> Adapter:
        if dim <= 0:
            raise ValidationError(f"dimension must be > 0, got {dim}", field="dim")
        return cls(np.zeros((dim, dim), np.float32), np.zeros(dim, np.float32), 0, dict(encoder or {}))

    @property
    def dim(self) -> int:
        return int(self.weight.shape[0])

    @property
    def is_identity(self) -> bool:
        return not self.weight.any() and not self.bias.any()

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Map base embeddings ``(N, dim)`` (or one ``(dim,)``) to adapted, L2-normalised ones."""
        arr = np.asarray(x, dtype=np.float32)
        if arr.shape[-1] != self.dim:
            raise ProvenanceMismatchError(
                f"embedding dimension {arr.shape[-1]} does not match the adapter's {self.dim} "
                "(the encoder changed: retrain with `rpa-vision finetune run` or roll back to identity)",
                expected=self.dim,
                found=int(arr.shape[-1]),
            )
        if self.is_identity:
            return l2_normalize(arr)
        return l2_normalize(arr + arr @ self.weight.T + self.bias)

    __call__ = apply

    def check_encoder(self, provenance: dict[str, Any]) -> None:
        """Raise when this adapter was trained for another encoder or dimension."""
        mine, theirs = encoder_identity(self.encoder), encoder_identity(provenance)
        diff = {k: (mine[k], theirs[k]) for k in mine if mine[k] is not None and mine[k] != theirs[k]}
        if diff or provenance.get("dim", self.dim) != self.dim:
            raise ProvenanceMismatchError(
                f"adapter v{self.version} was trained for another encoder ({diff or 'dimension'}); "
                "examples are kept: run `rpa-vision finetune run` to retrain for the current encoder",
                differences=diff,
            )

    # persistence ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        meta = {
            "schema_version": ADAPTER_SCHEMA_VERSION,
            "version": self.version,
            "encoder": self.encoder,
            "metrics": self.metrics,
            "created": self.created,
        }
        buf = io.BytesIO()
        np.savez_compressed(buf, weight=self.weight, bias=self.bias, meta=np.frombuffer(
            json.dumps(meta).encode("utf-8"), dtype=np.uint8))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> Adapter:
        try:
            with np.load(path, allow_pickle=False) as z:
                weight = np.asarray(z["weight"], dtype=np.float32)
                bias = np.asarray(z["bias"], dtype=np.float32)
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        except FileNotFoundError as exc:
            raise StorageError(f"{path}: no such adapter file", path=path) from exc
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise CorruptFileError(path, f"not a readable adapter: {exc}") from exc
        if meta.get("schema_version") != ADAPTER_SCHEMA_VERSION:
            from rpa_vision.core.errors import SchemaVersionError

            raise SchemaVersionError(path, meta.get("schema_version"), ADAPTER_SCHEMA_VERSION)
        try:
            return cls(weight, bias, int(meta["version"]), dict(meta.get("encoder", {})),
                       dict(meta.get("metrics", {})), float(meta.get("created", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptFileError(path, f"invalid adapter metadata: {exc}") from exc
