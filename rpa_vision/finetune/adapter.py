"""The adapter: a small residual linear map on top of base embeddings.

``adapted = normalize(x + x @ W.T + b)``. ``W = 0, b = 0`` is the identity, so a fresh adapter
changes nothing; training moves it only as far as the examples ask (weight decay pulls it back).
Applying it is numpy only, so perception never needs torch.

**Scope.** A map trained on a few corrected elements also moves every other element a little,
and a borderline match elsewhere can lose its confidence (forgetting). So an adapter carries its
*scope*: the base vectors of the targets it was taught. When the locator compares a target with
candidates (``similarities``), the adapted similarity counts in proportion to how close the target
is to the scope (``relevance``: 0 below ``scope_range[0]`` cosine, 1 from ``scope_range[1]``);
elsewhere the base similarity is used unchanged. Adapters without a scope (older files) apply
everywhere.
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
#: cosine (base space) from which a target starts to count as taught, and from which it fully does
DEFAULT_SCOPE_RANGE = (0.9, 0.97)


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
    scope: np.ndarray | None = None  # (K, dim) unit base vectors of the taught targets; None: everywhere
    scope_range: tuple[float, float] = DEFAULT_SCOPE_RANGE

    def __post_init__(self) -> None:
        w, b = self.weight, self.bias
        if self.scope is not None:
            sc = np.asarray(self.scope)
            if sc.ndim != 2 or sc.shape[1] != w.shape[0] or not np.isfinite(sc).all():
                raise ValidationError(f"adapter scope must be finite (K, {w.shape[0]}), got {sc.shape}",
                                      field="scope")
        lo, hi = self.scope_range
        if not (-1.0 <= lo < hi <= 1.0):
            raise ValidationError(f"scope_range must be -1 <= lo < hi <= 1, got {self.scope_range!r}",
                                  field="scope_range", value=self.scope_range)
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

    def relevance(self, x: np.ndarray) -> np.ndarray:
        """How much the adapter applies to each base vector ``(N, dim)``: ``(N,)`` in [0, 1]."""
        arr = l2_normalize(np.atleast_2d(np.asarray(x, dtype=np.float32)))
        if self.is_identity:
            return np.zeros(arr.shape[0], np.float32)
        if self.scope is None or not len(self.scope):
            return np.ones(arr.shape[0], np.float32)
        near = (arr @ self.scope.T).max(axis=1)
        lo, hi = self.scope_range
        return np.clip((near - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)

    def similarities(self, target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Cosine similarities of ``candidates`` ``(N, dim)`` to one ``target`` (base vectors):
        adapted ones for a taught target, base ones for any other, blended in between."""
        t = l2_normalize(np.asarray(target, dtype=np.float32).reshape(1, -1))
        c = l2_normalize(np.atleast_2d(np.asarray(candidates, dtype=np.float32)))
        base = c @ t[0]
        a = float(self.relevance(t)[0])
        if a <= 0.0:
            return base
        adapted = self.apply(c) @ self.apply(t)[0]
        return (1.0 - a) * base + a * adapted if a < 1.0 else adapted

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
            "scope_range": list(self.scope_range),
        }
        arrays: dict[str, np.ndarray] = {"weight": self.weight, "bias": self.bias,
                                         "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
        if self.scope is not None:
            arrays["scope"] = np.asarray(self.scope, np.float32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> Adapter:
        try:
            with np.load(path, allow_pickle=False) as z:
                weight = np.asarray(z["weight"], dtype=np.float32)
                bias = np.asarray(z["bias"], dtype=np.float32)
                scope = np.asarray(z["scope"], dtype=np.float32) if "scope" in z.files else None
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        except FileNotFoundError as exc:
            raise StorageError(f"{path}: no such adapter file", path=path) from exc
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise CorruptFileError(path, f"not a readable adapter: {exc}") from exc
        if meta.get("schema_version") != ADAPTER_SCHEMA_VERSION:
            from rpa_vision.core.errors import SchemaVersionError

            raise SchemaVersionError(path, meta.get("schema_version"), ADAPTER_SCHEMA_VERSION)
        try:
            lo, hi = meta.get("scope_range", DEFAULT_SCOPE_RANGE)
            return cls(weight, bias, int(meta["version"]), dict(meta.get("encoder", {})),
                       dict(meta.get("metrics", {})), float(meta.get("created", 0.0)), scope,
                       (float(lo), float(hi)))
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptFileError(path, f"invalid adapter metadata: {exc}") from exc
