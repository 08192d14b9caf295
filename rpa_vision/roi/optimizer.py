"""The ROI optimizer: candidate UI regions of a frame, cached by frame key, incremental on dirty tiles."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, ImageTransform
from rpa_vision.roi.boxes import label_kinds, nms, ranked_order, regions_aligned
from rpa_vision.roi.config import ROIConfig
from rpa_vision.roi.fine import GRAY_CODES, FineSource, fine_look
from rpa_vision.roi.proposals import Candidates, FineLook, Limits, detect
from rpa_vision.roi.types import Region, ROIError, ROIResult

__all__ = ["ROIConfig", "ROIOptimizer"]



def working_gray(pixels: np.ndarray, channels: str, size_wh: tuple[int, int]) -> np.ndarray:
    """Gray uint8 copy of ``pixels`` resized to ``size_wh``: exact 2x ``INTER_AREA`` steps
    (OpenCV's fast path, ~3 ms for 4K) in colour while they fit, then gray, then the last step
    of less than 2x bilinear on one channel (a non-integer area resize costs ~20 ms on 1440p, and
    below 2x bilinear sampling hardly aliases). Any strides are accepted."""
    arr = pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    tw, th = size_wh
    while arr.shape[1] >= 2 * tw and arr.shape[0] >= 2 * th:
        hh, ww = arr.shape[0] // 2, arr.shape[1] // 2
        arr = cv2.resize(arr[: 2 * hh, : 2 * ww], (ww, hh), interpolation=cv2.INTER_AREA)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, GRAY_CODES[channels])
    if (arr.shape[1], arr.shape[0]) != size_wh:
        arr = cv2.resize(arr, size_wh, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(arr)


@dataclass
class _State:
    """What the last full or incremental run left behind, in working pixels."""

    key: str
    frame_wh: tuple[int, int]
    work_wh: tuple[int, int]
    transform: ImageTransform
    lim: Limits
    cands: Candidates
    kinds: np.ndarray  # kind code per candidate
    regions: tuple[Region, ...]  # one per candidate, in the same order


class ROIOptimizer:
    """Proposes candidate UI regions for frames up to 8K.

    ``propose(frame)`` analyses a copy of the frame downscaled to at most ``config.max_size``
    and returns regions in full-resolution frame pixels. Results are cached by ``frame.key``.
    ``propose(frame, dirty)`` with the rectangles (frame pixels) that changed since the previous
    frame given to this optimizer recomputes only the tiles they touch. Thread-safe.

    ``timings_ms`` of a result: ``downscale``, ``detect`` (of which ``fine``: the second look at
    full resolution where small cells merged, :mod:`rpa_vision.roi.fine`), ``nms_label``, ``total``.
    """

    def __init__(self, config: ROIConfig | None = None) -> None:
        self.config = config if config is not None else ROIConfig()
        if not isinstance(self.config, ROIConfig):
            raise ValidationError("config must be a ROIConfig", field="config")
        self._cache: OrderedDict[str, ROIResult] = OrderedDict()
        self._last: _State | None = None
        self._lock = threading.Lock()
        self._stats = {"hits": 0, "misses": 0, "evictions": 0, "full_runs": 0, "incremental_runs": 0}

    # public ---------------------------------------------------------------------------
    def propose(self, frame: Frame, dirty: Sequence[Box] | None = None, *, since: str | None = None) -> ROIResult:
        """Regions of ``frame``. ``dirty``: rectangles (frame pixels) that changed since the frame
        whose key is ``since`` (default: the previous frame given to this optimizer); when that is
        not the frame this optimizer saw last, or the size changed, a full run is done."""
        if not isinstance(frame, Frame):
            raise ROIError(f"propose() needs a Frame, got {type(frame).__name__}")
        dirty_boxes = self._check_dirty(dirty)
        t0 = time.perf_counter()
        with self._lock:
            hit = self._cache.get(frame.key)
            if hit is not None:
                self._cache.move_to_end(frame.key)
                self._stats["hits"] += 1
                return replace(hit, cached=True, timings_ms={"total": (time.perf_counter() - t0) * 1000.0})
            self._stats["misses"] += 1
            last = self._last
            result: ROIResult | None = None
            if (dirty_boxes and last is not None and last.frame_wh == frame.size_wh
                    and (since is None or since == last.key) and last.lim == self._transform(frame)[2]):
                result = self._incremental(frame, last, dirty_boxes, t0)
            if result is None:
                result = self._full(frame, t0)
            if self.config.cache_entries > 0:
                self._cache[frame.key] = result
                while len(self._cache) > self.config.cache_entries:
                    self._cache.popitem(last=False)
                    self._stats["evictions"] += 1
            return result

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {**self._stats, "entries": len(self._cache)}

    def clear(self) -> None:
        """Forget cached results and the previous frame (statistics are kept)."""
        with self._lock:
            self._cache.clear()
            self._last = None

    # internals ------------------------------------------------------------------------
    @staticmethod
    def _check_dirty(dirty: Sequence[Box] | None) -> list[Box]:
        if dirty is None:
            return []
        out = []
        for b in dirty:
            if not isinstance(b, Box):
                raise ROIError(f"dirty rectangles must be Box objects, got {type(b).__name__}")
            if b.area > 0:
                out.append(b)
        return out

    def _transform(self, frame: Frame) -> tuple[ImageTransform, tuple[int, int], Limits]:
        w, h = frame.size_wh
        fit = ImageTransform.fit(w, h, *self.config.max_size)
        rw, rh = fit.size_image(w, h)
        tr = ImageTransform(rw / w, rh / h)
        return tr, (rw, rh), Limits.of(self.config, (rw, rh), frame.monitor.scale * tr.scale_x)

    def _fine(self, src: FineSource, lim: Limits, spent: list[float]) -> FineLook | None:
        """The full-resolution second look for a working image, when it applies; the seconds it
        takes are added to ``spent[0]``."""
        if not (self.config.fine_cells and src.applies):
            return None
        look = fine_look(src, lim, self.config.edge_threshold)

        def timed(horizontal: np.ndarray, edges: np.ndarray) -> np.ndarray:
            t = time.perf_counter()
            try:
                return look(horizontal, edges)
            finally:
                spent[0] += time.perf_counter() - t

        return timed

    def _finish(self, frame: Frame, cands: Candidates, tr: ImageTransform, work_wh: tuple[int, int], lim: Limits,
                timings: dict[str, float], t0: float, incremental: bool,
                settled: tuple[Candidates, np.ndarray, tuple[Region, ...]] | None = None) -> ROIResult:
        """``settled``: survivors of an earlier suppression that overlap none of ``cands`` (and
        nothing that changed), with their kinds and regions; they skip this suppression
        (suppression between boxes that do not overlap changes nothing) and keep their kinds and
        regions (a box's kind depends only on boxes inside it or around it, unchanged too)."""
        t = time.perf_counter()
        cands = nms(cands, self.config.nms_iou, self.config.max_regions)
        known = np.full(len(cands), -1, np.int8)
        old: list[Region | None] = [None] * len(cands)
        if settled is not None and len(settled[0]):
            s_cands, s_kinds, s_regions = settled
            both = Candidates.concat([s_cands, cands])
            order = ranked_order(both, self.config.max_regions)
            cands = both.take(order)
            known = np.concatenate([s_kinds, known])[order]
            pool: list[Region | None] = [*s_regions, *old]
            old = [pool[i] for i in order.tolist()]
        todo = np.nonzero(known < 0)[0]
        kinds = label_kinds(cands, lim, known if len(todo) < len(cands) else None)
        fresh = regions_aligned(cands.take(todo), kinds[todo], tr.scale_x, tr.scale_y, frame.size_wh)
        for i, r in zip(todo.tolist(), fresh, strict=True):
            old[i] = r
        keep = [i for i, r in enumerate(old) if r is not None]
        if len(keep) < len(old):  # boxes empty once clipped to the frame are dropped for good
            idx = np.asarray(keep, np.int64)
            cands, kinds = cands.take(idx), kinds[idx]
        regions = tuple(r for r in old if r is not None)
        t2 = time.perf_counter()
        timings["nms_label"] = (t2 - t) * 1000.0
        timings["total"] = (t2 - t0) * 1000.0
        self._last = _State(frame.key, frame.size_wh, work_wh, tr, lim, cands, kinds, regions)
        self._stats["incremental_runs" if incremental else "full_runs"] += 1
        return ROIResult(regions, frame.key, tr, timings, cached=False, incremental=incremental)

    def _full(self, frame: Frame, t0: float) -> ROIResult:
        tr, work_wh, lim = self._transform(frame)
        t = time.perf_counter()
        gray = working_gray(frame.pixels, frame.channels, work_wh)
        t1 = time.perf_counter()
        spent = [0.0]
        fine = self._fine(FineSource(frame.pixels, frame.channels, tr.scale_x, tr.scale_y), lim, spent)
        cands = detect(gray, self.config, lim, fine)
        t2 = time.perf_counter()
        timings = {"downscale": (t1 - t) * 1000.0, "detect": (t2 - t1) * 1000.0, "fine": spent[0] * 1000.0}
        return self._finish(frame, cands, tr, work_wh, lim, timings, t0, incremental=False)

    def _dirty_windows(self, last: _State, dirty: list[Box]) -> list[tuple[int, int, int, int]] | None:
        """Working-pixel rectangles of connected groups of dirty tiles, or None when too many."""
        rw, rh = last.work_wh
        tile = self.config.tile_px
        nx, ny = math.ceil(rw / tile), math.ceil(rh / tile)
        grid = np.zeros((ny, nx), np.uint8)
        for b in dirty:
            wb = last.transform.to_image(b).expand(1.0).clip(rw, rh)
            if wb.area <= 0:
                continue
            x1, y1, x2, y2 = wb.as_int_tuple()
            grid[y1 // tile:(y2 - 1) // tile + 1, x1 // tile:(x2 - 1) // tile + 1] = 1
        marked = int(grid.sum())
        if marked == 0:
            return []
        if marked > self.config.incremental_max_frac * grid.size:
            return None
        n, _, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
        out = []
        for i in range(1, n):
            gx, gy, gw, gh = (int(v) for v in stats[i, :4])
            out.append((gx * tile, gy * tile, min(rw, (gx + gw) * tile), min(rh, (gy + gh) * tile)))
        return out

    def _incremental(self, frame: Frame, last: _State, dirty: list[Box], t0: float) -> ROIResult | None:
        windows = self._dirty_windows(last, dirty)
        if windows is None:
            return None
        tr, work_wh = last.transform, last.work_wh
        rw, rh = work_wh
        fw, fh = frame.size_wh
        sx, sy = tr.scale_x, tr.scale_y
        m = self.config.tile_margin_px
        old = last.cands
        keep_old = np.ones(len(old), bool)
        new_parts: list[Candidates] = []
        analysed: list[tuple[float, float, float, float]] = []
        t_down = t_det = 0.0
        spent = [0.0]
        ocx = (old.boxes[:, 0] + old.boxes[:, 2]) / 2
        ocy = (old.boxes[:, 1] + old.boxes[:, 3]) / 2
        for rx1, ry1, rx2, ry2 in windows:
            # The analysed window: the tiles plus a margin, snapped to whole full-resolution pixels.
            fx1, fy1 = max(0, math.floor((rx1 - m) / sx)), max(0, math.floor((ry1 - m) / sy))
            fx2, fy2 = min(fw, math.ceil((rx2 + m) / sx)), min(fh, math.ceil((ry2 + m) / sy))
            ax1, ay1, ax2, ay2 = fx1 * sx, fy1 * sy, fx2 * sx, fy2 * sy
            analysed.append((ax1, ay1, ax2, ay2))
            size = (max(1, int(round(ax2 - ax1))), max(1, int(round(ay2 - ay1))))
            t = time.perf_counter()
            gray = working_gray(frame.pixels[fy1:fy2, fx1:fx2], frame.channels, size)
            t1 = time.perf_counter()
            fine = self._fine(FineSource(frame.pixels[fy1:fy2, fx1:fx2], frame.channels,
                                         size[0] / max(1, fx2 - fx1), size[1] / max(1, fy2 - fy1)), last.lim, spent)
            new = detect(gray, self.config, last.lim, fine).shifted(ax1, ay1)
            t_down += t1 - t
            t_det += time.perf_counter() - t1
            # New boxes owned by the tiles and not cut by the window's inner edges replace old ones.
            nb = new.boxes
            ncx, ncy = (nb[:, 0] + nb[:, 2]) / 2, (nb[:, 1] + nb[:, 3]) / 2
            tol = 1.0
            inner_ok = (
                ((nb[:, 0] > ax1 + tol) | (ax1 <= 0)) & ((nb[:, 1] > ay1 + tol) | (ay1 <= 0))
                & ((nb[:, 2] < ax2 - tol) | (ax2 >= rw - tol)) & ((nb[:, 3] < ay2 - tol) | (ay2 >= rh - tol))
            )
            own_new = (ncx >= rx1) & (ncx < rx2) & (ncy >= ry1) & (ncy < ry2) & inner_ok
            new_parts.append(new.take(np.nonzero(own_new)[0]))
            ob = old.boxes
            own_old = (
                (ocx >= rx1) & (ocx < rx2) & (ocy >= ry1) & (ocy < ry2)
                & (ob[:, 0] >= ax1) & (ob[:, 1] >= ay1) & (ob[:, 2] <= ax2) & (ob[:, 3] <= ay2)
            )
            keep_old &= ~own_old
        # Old boxes away from every analysed window cannot overlap a new box: they keep their place
        # without a new suppression round; the rest are suppressed again together with the new ones.
        ob = old.boxes
        near = np.zeros(len(old), bool)
        for ax1, ay1, ax2, ay2 in analysed:
            near |= (ob[:, 0] < ax2) & (ob[:, 2] > ax1) & (ob[:, 1] < ay2) & (ob[:, 3] > ay1)
        settled_idx = np.nonzero(keep_old & ~near)[0]
        settled = (old.take(settled_idx), last.kinds[settled_idx], tuple(last.regions[i] for i in settled_idx.tolist()))
        merged = Candidates.concat([old.take(np.nonzero(keep_old & near)[0]), *new_parts])
        timings = {"downscale": t_down * 1000.0, "detect": t_det * 1000.0, "fine": spent[0] * 1000.0}
        return self._finish(frame, merged, tr, work_wh, last.lim, timings, t0, incremental=True, settled=settled)
