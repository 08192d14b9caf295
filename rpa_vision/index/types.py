"""Value types of the prototype index: metadata, provenance, configuration, search results.

Vectors are float32 rows of a fixed dimension, L2-normalised, so the inner product is the
cosine similarity. ``check_vectors`` is the one place that validates them:

* wrong shape or dimension, NaN/inf, all-zero rows -> ``ValidationError`` (nothing is added);
* rows whose norm is off 1 by more than ``norm_tolerance`` -> normalised with a warning when
  ``IndexConfig.on_unnormalized == "normalize"`` (the default), ``ValidationError`` when it is
  ``"reject"``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rpa_vision.core.errors import ProvenanceMismatchError, ValidationError

#: Version of the on-disk layout written by ``rpa_vision.index.persistence``.
SCHEMA_VERSION = 1
REBUILD_HINT = "run `rpa-vision index rebuild` to re-embed the prototypes with the current encoder"

KINDS = ("state", "target", "other")


class UnnormalizedVectorWarning(UserWarning):
    """Vectors handed to the index were not unit length and have been normalised."""


@dataclass(frozen=True)
class PrototypeMeta:
    """What a prototype vector stands for: a (workflow, step) and how it came to be."""

    workflow: str
    step: int
    kind: str = "state"  # state (a screen) | target (an element) | other
    label: str = ""
    created: float = field(default_factory=time.time)
    source: str = "recorded"  # recorded | healed | confirmed | corrected | imported ...

    def __post_init__(self) -> None:
        if not isinstance(self.workflow, str) or not self.workflow:
            raise ValidationError("prototype metadata needs a non-empty workflow name", field="workflow",
                                  value=self.workflow)
        if isinstance(self.step, bool) or not isinstance(self.step, (int, np.integer)) or self.step < 0:
            raise ValidationError(f"step must be an int >= 0, got {self.step!r}", field="step", value=self.step)
        object.__setattr__(self, "step", int(self.step))
        for name in ("kind", "label", "source"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError(f"{name} must be a string", field=name, value=getattr(self, name))
        if not math.isfinite(float(self.created)):
            raise ValidationError("created must be a finite timestamp", field="created", value=self.created)
        object.__setattr__(self, "created", float(self.created))

    @property
    def key(self) -> tuple[str, int]:
        return (self.workflow, self.step)

    def to_json(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "step": self.step, "kind": self.kind, "label": self.label,
                "created": self.created, "source": self.source}

    @classmethod
    def coerce(cls, m: PrototypeMeta | Mapping[str, Any]) -> PrototypeMeta:
        if isinstance(m, PrototypeMeta):
            return m
        if not isinstance(m, Mapping):
            raise ValidationError(f"metadata must be a PrototypeMeta or a mapping, got {type(m).__name__}",
                                  field="metadata")
        unknown = set(m) - {"workflow", "step", "kind", "label", "created", "source"}
        if unknown:
            raise ValidationError(f"unknown metadata field(s): {', '.join(sorted(unknown))}", field="metadata")
        if "workflow" not in m or "step" not in m:
            raise ValidationError("metadata needs 'workflow' and 'step'", field="metadata")
        kw = dict(m)
        if "created" not in kw:
            kw["created"] = time.time()
        return cls(**kw)


@dataclass(frozen=True)
class Provenance:
    """What produced the vectors of an index; two indexes are comparable only when these agree."""

    encoder: str
    dim: int
    weights: str = ""  # a weights tag or digest ("" for weight-free encoders)
    adapter_version: int = 0  # 0 = identity (base embeddings)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.encoder:
            raise ValidationError("provenance needs an encoder name", field="encoder")
        if isinstance(self.dim, bool) or int(self.dim) <= 0:
            raise ValidationError(f"dimension must be > 0, got {self.dim!r}", field="dim")
        if int(self.adapter_version) < 0:
            raise ValidationError("adapter version must be >= 0", field="adapter_version")

    @classmethod
    def from_encoder(cls, encoder: Any, adapter_version: int = 0) -> Provenance:
        """From an ``rpa_vision.embedding`` encoder (``.name``, ``.dim``, ``.provenance()``)."""
        desc: Mapping[str, Any] = {}
        prov = getattr(encoder, "provenance", None)
        if callable(prov):
            desc = prov() or {}
        parts: list[str] = []
        w = desc.get("weights")
        if isinstance(w, Mapping):  # e.g. {tag, path, source, fingerprint}: the path is machine-specific
            tag = w.get("fingerprint") or w.get("tag") or w.get("sha")
            if tag:
                parts.append(str(tag))
        elif w not in (None, ""):
            parts.append(str(w))
        for key in ("pretrained", "preprocessing", "quantized"):
            if desc.get(key) not in (None, ""):
                parts.append(str(desc[key]))
        if isinstance(desc.get("config"), Mapping):
            blob = json.dumps(desc["config"], sort_keys=True, default=str).encode()
            parts.append("cfg:" + hashlib.blake2b(blob, digest_size=4).hexdigest())
        weights = " ".join(dict.fromkeys(parts))
        model = desc.get("model")
        name = str(encoder.name) + (f"/{model}" if model and str(model) not in str(encoder.name) else "")
        return cls(name, int(encoder.dim), weights, adapter_version)

    def to_json(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "dim": self.dim, "weights": self.weights,
                "adapter_version": self.adapter_version, "schema_version": self.schema_version}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Provenance:
        try:
            return cls(str(d["encoder"]), int(d["dim"]), str(d.get("weights", "")),
                       int(d.get("adapter_version", 0)), int(d.get("schema_version", SCHEMA_VERSION)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed provenance: {exc}", field="provenance") from exc

    def differences(self, other: Provenance) -> list[str]:
        out = []
        for name in ("encoder", "weights", "dim", "adapter_version"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                out.append(f"{name} {a!r} != {b!r}")
        return out

    def check(self, expected: Provenance, where: str = "index") -> None:
        """Raise ``ProvenanceMismatchError`` (naming the rebuild command) when they disagree."""
        diff = expected.differences(self)
        if diff:
            raise ProvenanceMismatchError(
                f"{where} was built with {self.describe()} but the current encoder is {expected.describe()} "
                f"({'; '.join(diff)}); {REBUILD_HINT}",
                found=self.to_json(), expected=expected.to_json(),
            )

    def describe(self) -> str:
        w = f" [{self.weights}]" if self.weights else ""
        a = f" + adapter v{self.adapter_version}" if self.adapter_version else ""
        return f"{self.encoder}{w} {self.dim}-D{a}"


@dataclass(frozen=True)
class IndexConfig:
    """Tuning of a ``PrototypeIndex``.

    ``ivf_threshold``: past this many vectors the exact Flat index migrates to IVF.
    ``nlist``: None = chosen from the data size (``choose_nlist``). ``nprobe``: None = chosen from
    nlist (``choose_nprobe``). ``retrain_growth``: retrain the IVF when the data has grown this many
    times since the last training. ``background``: migrations run in a thread (searches and writes
    go on meanwhile) instead of inside the ``add`` that triggers them. ``max_journal``: writes
    during a background migration are journaled; past this many journaled vectors, writers wait
    for the migration (searches never do). ``use_gpu``: "auto" uses GPU FAISS when present.
    ``ivf_storage``: "float16" (default; half the memory, scores within 5e-4 of exact) or "float32".
    """

    ivf_threshold: int = 10_000
    nlist: int | None = None
    nprobe: int | None = None
    retrain_growth: float = 4.0
    train_points_per_list: int = 40
    train_iterations: int = 12
    background: bool = True
    max_journal: int = 100_000
    on_unnormalized: Literal["normalize", "reject"] = "normalize"
    norm_tolerance: float = 1e-3
    use_gpu: Literal["auto", "never", "always"] = "auto"
    ivf_storage: Literal["float16", "float32"] = "float16"
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.ivf_threshold < 1:
            raise ValidationError("ivf_threshold must be >= 1", field="ivf_threshold", value=self.ivf_threshold)
        if self.nlist is not None and self.nlist < 1:
            raise ValidationError("nlist must be >= 1", field="nlist", value=self.nlist)
        if self.nprobe is not None and self.nprobe < 1:
            raise ValidationError("nprobe must be >= 1", field="nprobe", value=self.nprobe)
        if not self.retrain_growth > 1.0:
            raise ValidationError("retrain_growth must be > 1", field="retrain_growth", value=self.retrain_growth)
        if self.on_unnormalized not in ("normalize", "reject"):
            raise ValidationError("on_unnormalized must be 'normalize' or 'reject'", field="on_unnormalized",
                                  value=self.on_unnormalized)
        if self.ivf_storage not in ("float16", "float32"):
            raise ValidationError("ivf_storage must be float16 or float32", field="ivf_storage", value=self.ivf_storage)
        if self.use_gpu not in ("auto", "never", "always"):
            raise ValidationError("use_gpu must be auto, never or always", field="use_gpu", value=self.use_gpu)
        if self.train_points_per_list < 1 or self.train_iterations < 1 or self.max_journal < 1:
            raise ValidationError("training sizes and max_journal must be >= 1", field="config")


def choose_nlist(n: int) -> int:
    """About ``2 * sqrt(n)`` lists (a power of two), at least 39 training points per list."""
    if n <= 0:
        return 1
    target = 2.0 * math.sqrt(n)
    nlist = 1 << max(0, round(math.log2(target)))
    while nlist > 1 and n / nlist < 39:
        nlist //= 2
    return max(1, min(nlist, 65536))


def choose_nprobe(nlist: int) -> int:
    """Lists visited per query when not configured: ~1/64 of them, at least 8 (tuned on clustered data)."""
    return max(1, min(nlist, max(8, nlist // 64)))


@dataclass(frozen=True)
class Hit:
    """One search result: the prototype's id, its cosine score and its metadata."""

    id: int
    score: float
    meta: PrototypeMeta


@dataclass(frozen=True, eq=False)
class SearchResult:
    """``scores`` and ``ids`` are ``(n_queries, k)``; missing results have id -1 and score -inf.

    ``metadata[q][j]`` is the metadata of ``ids[q, j]`` (None where the id is -1).
    """

    scores: np.ndarray
    ids: np.ndarray
    metadata: list[list[PrototypeMeta | None]]

    def hits(self, q: int = 0) -> list[Hit]:
        return [Hit(int(i), float(s), m) for i, s, m in zip(self.ids[q], self.scores[q], self.metadata[q], strict=True)
                if i >= 0 and m is not None]

    def __iter__(self) -> Iterator[Any]:
        """``scores, ids, metadata = index.search(q, k)``."""
        return iter((self.scores, self.ids, self.metadata))


@dataclass(frozen=True, eq=False)
class PrototypeRecord:
    """A stored prototype: id, the indexed (adapted) vector, metadata, and its base vector."""

    id: int
    vector: np.ndarray
    meta: PrototypeMeta
    base: np.ndarray | None = None


def check_vectors(x: object, dim: int, *, what: str = "vectors", on_unnormalized: str = "normalize",
                  tolerance: float = 1e-3) -> np.ndarray:
    """Validate a batch of vectors; returns a C-contiguous ``(n, dim)`` float32 array of unit rows."""
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} must be numeric arrays: {exc}", field=what) from exc
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValidationError(f"{what} must be (n, {dim}), got shape {arr.shape}", field=what, value=arr.shape)
    if arr.shape[1] != dim:
        raise ValidationError(f"{what} have dimension {arr.shape[1]}, this index holds {dim}-D vectors",
                              field=what, value=arr.shape)
    if arr.shape[0] == 0:
        return np.ascontiguousarray(arr)
    norms = np.sqrt(np.einsum("ij,ij->i", arr, arr, dtype=np.float64))
    finite = np.isfinite(norms)  # a NaN or inf anywhere in a row makes its norm non-finite
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValidationError(f"{what} contain NaN or infinite values (rows {bad[:5].tolist()})", field=what)
    if (norms < 1e-12).any():
        bad = np.flatnonzero(norms < 1e-12)
        raise ValidationError(f"{what} contain all-zero rows (rows {bad[:5].tolist()}); they have no direction",
                              field=what)
    off = np.abs(norms - 1.0) > tolerance
    if off.any():
        if on_unnormalized == "reject":
            raise ValidationError(
                f"{what} are not L2-normalised (row {int(np.flatnonzero(off)[0])} has norm "
                f"{float(norms[off][0]):.4f}); normalise them or use on_unnormalized='normalize'", field=what)
        warnings.warn(f"{int(off.sum())} of {len(arr)} {what} were not unit length; normalised them",
                      UnnormalizedVectorWarning, stacklevel=3)
        arr = arr / norms[:, None].astype(np.float32)
    return np.ascontiguousarray(arr, dtype=np.float32)
