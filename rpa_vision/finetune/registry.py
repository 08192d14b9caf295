"""Adapters on disk (every version kept, for rollback) and the current one in memory.

``<home>/adapters/adapter-v<N>.npz`` plus ``current.json`` naming the version in use. Swapping
is one reference assignment under a lock, so a reader sees either the old or the new adapter.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rpa_vision.core.atomic import atomic_write_json, read_json
from rpa_vision.core.errors import (
    CorruptFileError,
    ProvenanceMismatchError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from rpa_vision.core.logging import get_logger
from rpa_vision.finetune.adapter import Adapter

log = get_logger(__name__)
_NAME = re.compile(r"^adapter-v(\d+)\.npz$")

SwapListener = Callable[[Adapter], None]


class AdapterRegistry:
    def __init__(self, root: Path, dim: int, encoder: dict[str, Any]) -> None:
        self.root = Path(root)
        self.dim = dim
        self.encoder = dict(encoder)
        self._lock = threading.RLock()
        self._current = Adapter.identity(dim, encoder)
        self._listeners: list[SwapListener] = []
        self._swapped: list[SwapListener] = []
        self.warnings: list[str] = []

    # paths ---------------------------------------------------------------------------------
    def path(self, version: int) -> Path:
        return self.root / f"adapter-v{version}.npz"

    @property
    def pointer(self) -> Path:
        return self.root / "current.json"

    def versions(self) -> list[int]:
        if not self.root.exists():
            return []
        return sorted(int(m.group(1)) for p in self.root.iterdir() if (m := _NAME.match(p.name)))

    def next_version(self) -> int:
        return max(self.versions(), default=0) + 1

    # current -------------------------------------------------------------------------------
    @property
    def current(self) -> Adapter:
        return self._current

    def apply(self, x: Any) -> Any:
        """Adapt base embeddings with whatever adapter is current at this moment."""
        return self._current.apply(x)

    def add_listener(self, fn: SwapListener) -> None:
        """``fn(new_adapter)`` runs before a swap is published (e.g. to re-project prototypes);
        if it raises, the swap does not happen."""
        self._listeners.append(fn)

    def on_swapped(self, fn: SwapListener) -> None:
        """``fn(adapter)`` runs after a swap (or rollback) made ``adapter`` current, e.g. to hand it to a
        Locator. Failures are logged; the swap stands."""
        self._swapped.append(fn)

    def remove_listener(self, fn: SwapListener) -> None:
        """Forget ``fn`` (both kinds); unknown functions are ignored."""
        for lst in (self._listeners, self._swapped):
            while fn in lst:
                lst.remove(fn)

    def _swap(self, adapter: Adapter) -> None:
        """Prepare listeners, then the pointer, then the reference, then the swapped listeners."""
        for fn in list(self._listeners):
            fn(adapter)
        atomic_write_json(self.pointer, {"version": adapter.version})
        self._current = adapter
        for fn in list(self._swapped):
            try:
                fn(adapter)
            except Exception:  # a listener must not undo a published swap
                log.exception("adapter swap listener failed")

    def _usable(self, version: int) -> Adapter:
        ad = Adapter.load(self.path(version))
        ad.check_encoder(self.encoder | {"dim": self.dim})
        return ad

    def load(self) -> Adapter:
        """Load the version ``current.json`` names; on a corrupt or foreign file fall back to the
        newest good earlier version, else identity, recording a warning."""
        with self._lock:
            wanted: int | None = None
            if self.pointer.exists():
                try:
                    wanted = int(read_json(self.pointer)["version"])
                except (CorruptFileError, StorageError, KeyError, TypeError, ValueError) as exc:
                    self._warn(f"adapter pointer {self.pointer} is unreadable ({exc}); using the newest good adapter")
            candidates = [v for v in reversed(self.versions()) if wanted is None or v <= wanted]
            if wanted == 0:
                candidates = []
            for v in candidates:
                try:
                    ad = self._usable(v)
                except (CorruptFileError, StorageError, SchemaVersionError, ProvenanceMismatchError) as exc:
                    self._warn(f"adapter v{v} is not usable ({exc}); trying an earlier one")
                    continue
                self._current = ad
                return ad
            self._current = Adapter.identity(self.dim, self.encoder)
            return self._current

    def _warn(self, msg: str) -> None:
        log.warning(msg)
        self.warnings.append(msg)

    def publish(self, adapter: Adapter) -> None:
        """Persist ``adapter``, run the listeners (re-projection), then swap it in."""
        if adapter.dim != self.dim:
            raise ValidationError(f"adapter dimension {adapter.dim} != {self.dim}", field="dim")
        with self._lock:
            adapter.save(self.path(adapter.version))
            self._swap(adapter)

    def rollback(self, version: int) -> Adapter:
        """Make an earlier version (0 = identity) current again."""
        with self._lock:
            if version == 0:
                adapter = Adapter.identity(self.dim, self.encoder)
            else:
                if version not in self.versions():
                    raise ValidationError(
                        f"no adapter version {version}; available: {self.versions() or 'none'} (0 = identity)",
                        field="version",
                    )
                adapter = self._usable(version)
            self._swap(adapter)
            return adapter
