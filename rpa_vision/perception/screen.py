"""A perceived screen: the frame, its regions, its state vector, and lazy region embeddings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.perception.pixels import region_pixels
from rpa_vision.roi.types import Region, ROIResult

BoxKey = tuple[int, int, int, int]


def box_key(b: Box) -> BoxKey:
    x1, y1, x2, y2 = b.as_int_tuple()
    return (x1, y1, x2, y2)


class RegionStore:
    """Region embeddings computed so far for one screen, by integer box. Shared by the cached
    views of the same screen and read (not chained) by the next screen."""

    def __init__(self) -> None:
        self.vectors: dict[BoxKey, np.ndarray] = {}
        self.lock = threading.Lock()


# (frame, regions, indices still missing) -> (len(indices), dim) vectors
EmbedFn = Callable[[Frame, Sequence[Region], list[int]], np.ndarray]


@dataclass(frozen=True, eq=False)
class PerceivedScreen:
    """What the Perceiver made of one frame.

    ``regions`` are in the frame's full-resolution pixels (frame-local). ``state_vector`` and
    ``global_embedding`` are float32 and L2-normalised; both describe ``window`` (the application
    window the state was computed from, frame-local) or the whole frame when it is None.
    ``region_embeddings()`` embeds regions on first use (batched, through the embedding cache);
    regions unchanged since the previous screen reuse its vectors. ``cached`` is true when this
    screen came from the Perceiver's screen cache.
    """

    frame: Frame
    roi: ROIResult
    state_vector: np.ndarray
    global_embedding: np.ndarray
    timings_ms: dict[str, float]
    cached: bool = False
    _embed: EmbedFn | None = field(default=None, repr=False)
    _store: RegionStore = field(default_factory=RegionStore, repr=False)
    # Vectors inherited from the previous screen (boxes far from every dirty rectangle).
    _inherited: dict[BoxKey, np.ndarray] = field(default_factory=dict, repr=False)
    window: Box | None = None

    @property
    def regions(self) -> tuple[Region, ...]:
        return self.roi.regions

    @property
    def key(self) -> str:
        return self.frame.key

    @property
    def dim(self) -> int:
        return int(self.global_embedding.shape[0])

    def computed(self) -> int:
        """How many region embeddings this screen holds already (computed or inherited)."""
        with self._store.lock:
            return len(self._store.vectors)

    def region_embeddings(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """``(len(indices), dim)`` float32 embeddings of the regions (all when None)."""
        n = len(self.regions)
        idx = list(range(n)) if indices is None else [int(i) for i in indices]
        for i in idx:
            if not 0 <= i < n:
                raise ValidationError(f"region index {i} out of range (screen has {n} regions)", field="indices")
        out = np.zeros((len(idx), self.dim), np.float32)
        if not idx:
            return out
        with self._store.lock:
            missing: list[int] = []
            for j, i in enumerate(idx):
                k = box_key(self.regions[i].box)
                v = self._store.vectors.get(k)
                if v is None:
                    v = self._inherited.get(k)
                    if v is not None:
                        self._store.vectors[k] = v
                if v is None:
                    missing.append(j)
                else:
                    out[j] = v
            if missing:
                if self._embed is None:
                    raise ValidationError("this screen cannot embed regions (no encoder)", field="encoder")
                todo = sorted({idx[j] for j in missing})
                vecs = self._embed(self.frame, self.regions, todo)
                got = {i: vecs[t] for t, i in enumerate(todo)}
                for i, v in got.items():
                    self._store.vectors[box_key(self.regions[i].box)] = v
                for j in missing:
                    out[j] = got[idx[j]]
        return out

    def region_crop(self, index: int, max_px: int | None = None) -> np.ndarray:
        """BGR pixels of a region, downscaled so its longer side is at most ``max_px``."""
        if not 0 <= int(index) < len(self.regions):
            raise ValidationError(f"region index {index} out of range (screen has {len(self.regions)} regions)",
                                  field="index")
        return region_pixels(self.frame, self.regions[int(index)].box, max_px)

    def cached_view(self, total_ms: float) -> PerceivedScreen:
        """The same screen (sharing its region embeddings), flagged as coming from the cache."""
        return PerceivedScreen(self.frame, self.roi, self.state_vector, self.global_embedding,
                               {"total": total_ms}, True, self._embed, self._store, self._inherited, self.window)
