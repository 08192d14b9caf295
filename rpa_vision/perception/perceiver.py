"""The Perceiver: one call from a frame to regions, a global embedding and a state vector."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from rpa_vision.core.errors import EncoderError, RpaVisionError, ValidationError
from rpa_vision.core.frame import Frame, content_hash
from rpa_vision.core.geometry import Box
from rpa_vision.embedding.cache import EmbeddingCache
from rpa_vision.perception.config import PerceiverConfig
from rpa_vision.perception.layout import layout_of_fitted
from rpa_vision.perception.pixels import fit_box, region_pixels
from rpa_vision.perception.screen import BoxKey, PerceivedScreen, RegionStore
from rpa_vision.perception.state import screen_state_vector, unit
from rpa_vision.perception.window import find_window, shrink
from rpa_vision.roi.optimizer import ROIOptimizer
from rpa_vision.roi.types import Region


class PerceptionError(RpaVisionError):
    """Perceiving a frame failed (bad input or an encoder that misbehaved)."""


class Perceiver:
    """Frame in, :class:`PerceivedScreen` out; reuses work across consecutive frames.

    - an unchanged frame (same frame key) returns the cached screen at once;
    - ``dirty`` (rectangles that changed since the previous frame, frame pixels) makes the ROI
      optimizer recompute only those tiles and lets region embeddings away from them carry over;
    - region embeddings are lazy: nothing is embedded per region until asked for (unless
      ``config.state_regions`` pools some into the state vector).

    ``encoder`` is anything with ``name``, ``dim`` and ``embed(list_of_bgr) -> (N, dim)``;
    ``ocr`` anything with ``read(list_of_bgr) -> list[str]`` (optional).
    """

    def __init__(self, encoder: Any, roi: ROIOptimizer | None = None, ocr: Any = None,
                 config: PerceiverConfig | None = None, cache: EmbeddingCache | None = None) -> None:
        if not callable(getattr(encoder, "embed", None)) or not isinstance(getattr(encoder, "dim", None), int):
            raise ValidationError("encoder must have an int `dim` and an `embed(images)` method", field="encoder")
        self.encoder = encoder
        self.config = config if config is not None else PerceiverConfig()
        if not isinstance(self.config, PerceiverConfig):
            raise ValidationError("config must be a PerceiverConfig", field="config")
        self.roi = roi if roi is not None else ROIOptimizer()
        self.ocr = ocr
        self.cache = cache if cache is not None else EmbeddingCache(self.config.cache_entries, self.config.cache_bytes)
        self._screens: OrderedDict[str, PerceivedScreen] = OrderedDict()
        self._last: PerceivedScreen | None = None
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        ck = getattr(encoder, "cache_key", None)
        self._enc_key = str(ck()) if callable(ck) else f"{getattr(encoder, 'name', 'encoder')}-{encoder.dim}"

    # public ---------------------------------------------------------------------------
    def perceive(self, frame: Frame, dirty: Sequence[Box] | None = None) -> PerceivedScreen:
        if not isinstance(frame, Frame):
            raise PerceptionError(f"perceive() needs a Frame, got {type(frame).__name__}")
        t0 = time.perf_counter()
        with self._lock:
            hit = self._screens.get(frame.key)
            if hit is not None:
                self._screens.move_to_end(frame.key)
                self._hits += 1
                return hit.cached_view((time.perf_counter() - t0) * 1000.0)
            self._misses += 1
            prev = self._last
        timings: dict[str, float] = {}
        t = time.perf_counter()
        # Dirty rectangles are relative to this perceiver's previous frame (the ROI optimizer may
        # be shared and have seen others since).
        roi = self.roi.propose(frame, dirty, since=prev.key) if prev is not None else self.roi.propose(frame)
        timings["roi"] = (time.perf_counter() - t) * 1000.0
        t = time.perf_counter()
        # One shrunk copy of the frame serves the window search and, when it holds enough
        # pixels, the thumbnail and the layout of the state's window.
        small = shrink(frame, self.config.window) if self.config.state_window else None
        wbox = find_window(frame, self.config.window, small) if small is not None else None
        timings["window"] = (time.perf_counter() - t) * 1000.0
        t = time.perf_counter()
        g = self._global(frame, wbox, small, timings)
        timings["global"] = (time.perf_counter() - t) * 1000.0
        inherited = self._inherit(prev, frame, dirty)
        screen = PerceivedScreen(frame, roi, g, g, timings, False, self._embed_regions, RegionStore(), inherited,
                                 wbox)
        t = time.perf_counter()
        pooled = weights = None
        if self.config.state_regions > 0 and roi.regions:
            idx = self._state_indices(roi.regions, wbox)
            pooled = screen.region_embeddings(idx)
            weights = np.array([roi.regions[i].score for i in idx], np.float32)
        fusion = self.config.fusion
        layout = None
        if fusion.layout_dim:
            side = self.config.layout.side
            layout = layout_of_fitted(fit_box(frame, wbox, (side, side), small), fusion.layout_grid, self.config.layout)
        sv = screen_state_vector(g, pooled, weights, fusion, layout)
        timings["state"] = (time.perf_counter() - t) * 1000.0
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        screen = replace(screen, state_vector=sv)
        with self._lock:
            if self.config.screen_cache > 0:
                self._screens[frame.key] = screen
                while len(self._screens) > self.config.screen_cache:
                    self._screens.popitem(last=False)
            self._last = screen
        return screen

    def embed_boxes(self, frame: Frame, boxes: Sequence[Box]) -> np.ndarray:
        """Embeddings of arbitrary boxes of a frame (a recorded target, a candidate from another
        proposer), through the same crop reduction and embedding cache as region embeddings."""
        crops = [region_pixels(frame, b, self.config.max_crop_px) for b in boxes]
        if not crops:
            return np.zeros((0, self.encoder.dim), np.float32)
        return self._embed_crops(crops)

    def read_texts(self, screen: PerceivedScreen, indices: Sequence[int]) -> list[str]:
        """OCR of the given regions at full resolution (empty strings without an OCR engine)."""
        if self.ocr is None:
            return ["" for _ in indices]
        crops = [screen.region_crop(int(i)) for i in indices]
        read = getattr(self.ocr, "read", None) or getattr(self.ocr, "recognize", None) or self.ocr
        texts = list(read(crops))
        if len(texts) != len(crops):
            raise PerceptionError(f"OCR returned {len(texts)} texts for {len(crops)} crops")
        return [str(t or "") for t in texts]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            screens = {"hits": self._hits, "misses": self._misses, "entries": len(self._screens)}
        return {"screens": screens, "roi": self.roi.stats(), "embeddings": self.cache.get_stats().as_dict()}

    def provenance(self) -> dict[str, Any]:
        prov = getattr(self.encoder, "provenance", None)
        enc = prov() if callable(prov) else {"name": getattr(self.encoder, "name", "?"), "dim": self.encoder.dim}
        return {"encoder": enc, "roi": asdict(self.roi.config), "perceiver": asdict(self.config)}

    def clear(self) -> None:
        with self._lock:
            self._screens.clear()
            self._last = None
        self.roi.clear()

    # internals ------------------------------------------------------------------------
    def _global(self, frame: Frame, window: Box | None, small: np.ndarray | None,
                timings: dict[str, float]) -> np.ndarray:
        """The embedding of the state's window (the whole frame when None), through the cache."""
        where = "" if window is None else ":" + ",".join(str(v) for v in window.as_int_tuple())
        key = f"{self._enc_key}:global:{frame.key}{where}"
        v = self.cache.get(key)
        if v is not None:
            return np.asarray(v, np.float32)
        t = time.perf_counter()
        thumb = fit_box(frame, window, self.config.thumb_size, small)
        timings["thumbnail"] = (time.perf_counter() - t) * 1000.0
        vec = self._embed([thumb])[0]
        self.cache.put(key, vec)
        return vec

    def _embed(self, images: list[np.ndarray]) -> np.ndarray:
        out = np.asarray(self.encoder.embed(images), np.float32)
        if out.shape != (len(images), self.encoder.dim) or not np.all(np.isfinite(out)):
            raise EncoderError(f"encoder returned shape {out.shape}, expected {(len(images), self.encoder.dim)}")
        return np.stack([unit(v) for v in out]) if len(out) else out

    def _embed_regions(self, frame: Frame, regions: Sequence[Region], todo: list[int]) -> np.ndarray:
        return self._embed_crops([region_pixels(frame, regions[i].box, self.config.max_crop_px) for i in todo])

    def _embed_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Cached vectors by crop content; the misses embedded in one batch (identical crops once)."""
        keys = [f"{self._enc_key}:{content_hash(c)}" for c in crops]
        out = np.zeros((len(crops), self.encoder.dim), np.float32)
        todo: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            v = self.cache.get(k)
            if v is not None and v.shape == (self.encoder.dim,):
                out[i] = v
            else:
                todo.setdefault(k, []).append(i)
        if todo:
            firsts = [idx[0] for idx in todo.values()]
            vecs = self._embed([crops[i] for i in firsts])
            for (k, idx), v in zip(todo.items(), vecs, strict=True):
                self.cache.put(k, v)
                out[idx] = v
        return out

    def _inherit(self, prev: PerceivedScreen | None, frame: Frame,
                 dirty: Sequence[Box] | None) -> dict[BoxKey, np.ndarray]:
        """Region vectors of the previous screen whose boxes no dirty rectangle touches."""
        if prev is None or dirty is None or prev.frame.size_wh != frame.size_wh:
            return {}
        m = float(self.config.dirty_margin_px)
        zones = [b.expand(m) for b in dirty]
        with prev._store.lock:
            known = {**prev._inherited, **prev._store.vectors}
        out: dict[BoxKey, np.ndarray] = {}
        for k, v in known.items():
            b = Box(*k)
            if all(b.intersection(z) is None for z in zones):
                out[k] = v
        return out

    def _state_indices(self, regions: Sequence[Region], window: Box | None) -> list[int]:
        """The regions pooled into the state vector: inside the state's window, widgets and icons
        first, then by score."""
        inside = [i for i in range(len(regions)) if window is None or window.contains(regions[i].box.center)]
        order = sorted(inside,
                       key=lambda i: (regions[i].kind not in ("widget", "icon"), -regions[i].score, i))
        return order[: self.config.state_regions]
