"""Base embeddings of example crops kept on disk, per encoder, so a new process (the CLI's
``finetune run``, an app restart) does not embed again the crops an earlier run already embedded.

One file per encoder identity (``vectors-<hash>.npz`` next to the examples): crop content hash ->
base vector. Only a cache: a missing, unreadable or mismatched file means re-embedding, never an
error; vectors of crops no longer referenced by an example are dropped on the next write.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rpa_vision.core.atomic import atomic_write_bytes
from rpa_vision.core.logging import get_logger
from rpa_vision.finetune.adapter import encoder_identity

log = get_logger(__name__)


def cache_path(folder: Path, provenance: dict[str, Any]) -> Path:
    ident = json.dumps(encoder_identity(provenance), sort_keys=True, default=str)
    return folder / f"vectors-{hashlib.blake2b(ident.encode('utf-8'), digest_size=8).hexdigest()}.npz"


class VectorCache:
    """Crop hash -> base vector of one encoder: in memory, backed by one file."""

    def __init__(self, folder: Path, provenance: dict[str, Any], dim: int, persist: bool = True) -> None:
        self.path = cache_path(folder, provenance)
        self.dim = dim
        self.persist = persist
        self._vectors: dict[str, np.ndarray] = {}
        self._loaded = not persist

    def __contains__(self, key: str) -> bool:
        self._load()
        return key in self._vectors

    def __getitem__(self, key: str) -> np.ndarray:
        self._load()
        return self._vectors[key]

    def __len__(self) -> int:
        self._load()
        return len(self._vectors)

    def clear(self) -> None:
        """Forget every vector, in memory (the file is read again on the next use)."""
        self._vectors.clear()
        self._loaded = not self.persist

    def delete_file(self) -> None:
        self.path.unlink(missing_ok=True)

    def update(self, keys: Iterable[str], vectors: np.ndarray, live: Iterable[str]) -> None:
        """Add vectors and write the file, keeping only the ``live`` keys (crops still in use)."""
        self._load()
        for k, v in zip(keys, np.asarray(vectors, np.float32), strict=True):
            self._vectors[k] = v
        if not self.persist:
            return
        keep = sorted(set(live) & self._vectors.keys())
        mat = np.stack([self._vectors[k] for k in keep]) if keep else np.zeros((0, self.dim), np.float32)
        buf = io.BytesIO()
        np.savez(buf, keys=np.asarray(keep, dtype=str), vectors=mat)
        try:
            atomic_write_bytes(self.path, buf.getvalue())
        except OSError as exc:
            log.warning("could not write the embedding cache %s: %s", self.path, exc)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as z:
                keys = [str(k) for k in z["keys"]]
                vecs = np.asarray(z["vectors"], np.float32)
            if vecs.ndim != 2 or vecs.shape != (len(keys), self.dim) or not np.isfinite(vecs).all():
                raise ValueError(f"vectors of shape {vecs.shape} for {len(keys)} keys at {self.dim}-D")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("embedding cache %s unreadable (%s): the crops are embedded again", self.path, exc)
            return
        for k, v in zip(keys, vecs, strict=True):
            self._vectors.setdefault(k, v)
