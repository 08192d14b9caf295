"""The Locator: find a recorded target on the current screen.

The recorded window is found first (``window``): once it is, the target is only searched inside
it, at its scale when the fit is sure. Cheap evidence next: gradient template peaks, region
proposals and positions predicted from the window, anchors and the last hit are pooled,
suppressed, and scored by exact appearance (gray and gradient correlation), shape and position.
Only the best few then get the expensive signals: the surroundings (context), the embedding, and
OCR text (the best candidate's read ahead on a helper thread meanwhile). The fused score becomes
a calibrated confidence that includes the margin to the runner-up (see ``calibration``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame, frame_key
from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.logging import get_logger
from rpa_vision.locate import backends
from rpa_vision.locate.calibration import confidence
from rpa_vision.locate.config import LocatorConfig
from rpa_vision.locate.features import (
    Appearance,
    LazyGradient,
    context_similarity,
    crop_padded,
    gradient,
    gray_of,
    resize_to,
)
from rpa_vision.locate.proposals import (
    Proposal,
    ScreenPyramid,
    contour_proposals,
    nms,
    pick_level,
    roi_proposals,
    scaled_template,
    template_proposals,
)
from rpa_vision.locate.types import Candidate, TargetSpec, as_bgr
from rpa_vision.locate.window import SURE, WindowFit, fit_window, search_area, surroundings

log = get_logger(__name__)

_SCREEN_CACHE = 2
_REFINE_TOP = 25
_TEXT_MATCH = 0.8  # a read text this similar to the target's ends the OCR search
_INNER = 0.15  # the inside of an element: this fraction trimmed from each side


def _interleave(props: list[Proposal], limit: int) -> list[Proposal]:
    """Template peaks rank by rank across scales (so no scale crowds out the others) up to
    ``limit``, plus every region and predicted proposal."""
    by_scale: dict[float, list[Proposal]] = {}
    rest = []
    for p in props:
        if p.source == "template":
            by_scale.setdefault(p.scale, []).append(p)
        else:
            rest.append(p)
    lists = [sorted(v, key=lambda p: -p.prior) for v in by_scale.values()]
    out: list[Proposal] = []
    rank = 0
    while len(out) < limit and any(rank < len(v) for v in lists):
        out.extend(v[rank] for v in lists if rank < len(v))
        rank += 1
    return out[:limit] + rest


def _near_fit(scales: list[float], fit: WindowFit | None) -> list[float]:
    """The template scales worth searching: all of them, or, when the window was found, the
    ones within 30% of the window's scale (at least the three nearest); only the nearest when
    the window is surely the recorded one (its elements have its scale; the refinement then
    corrects the size by +-8%)."""
    if fit is None:
        return scales
    s_fit = float(np.sqrt(fit.sx * fit.sy))
    if fit.corr >= SURE:
        return [min(scales, key=lambda s: abs(np.log(s / s_fit)))]
    if len(scales) <= 3:
        return scales
    near = [s for s in scales if abs(np.log(s / s_fit)) <= np.log(1.3)]
    if len(near) < 3:
        near = sorted(sorted(scales, key=lambda s: abs(np.log(s / s_fit)))[:3])
    return near


def _case_aware(want: str, read: str, sim: float) -> float:
    """Short labels (up to 3 characters) must be read exactly to count as the same text: "e" and
    "E", or "8" and "6" (which OCR-confusable folding makes alike), are different calculator
    keys. A short read that differs keeps at most 0.6 (neither for nor clearly against)."""
    a, b = " ".join(want.split()), " ".join(read.split())
    if a != b and max(len(a), len(b)) <= 3:
        return min(sim, 0.6)
    return sim


@dataclass
class _Screen:
    frame: Frame | None
    bgr: np.ndarray
    gray: np.ndarray
    pyramid: ScreenPyramid
    scale: float | None
    _grad: np.ndarray | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def grad(self) -> np.ndarray:
        with self._lock:
            if self._grad is None:
                self._grad = self.pyramid.grad(1.0)
            return self._grad


@dataclass
class _Cand:
    box: Box
    scale: float
    source: str
    ev: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


class Locator:
    """Finds targets on screens. Thread-safe: shared caches are locked, the rest is per call.

    ``encoder``: anything with ``embed(list_of_bgr)`` (default: the builtin encoder); ``roi``: an
    ``rpa_vision.roi.ROIOptimizer`` whose regions are proposals for ``Frame`` screens (default:
    contour proposals); ``ocr``: anything with ``read(list_of_bgr) -> list[str]`` (default: the
    installed OCR, unless ``config.use_ocr`` is off); ``adapter``: maps base embeddings to adapted
    ones (``set_adapter`` swaps it atomically); when it also has ``similarities(target, candidates)``
    (a fine-tuned ``Adapter`` with a scope), that decides the embedding evidence instead."""

    def __init__(
        self,
        encoder: Any = None,
        roi: Any = None,
        ocr: Any = None,
        config: LocatorConfig | None = None,
        adapter: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.config = config or LocatorConfig()
        if not isinstance(self.config, LocatorConfig):
            raise ValidationError("config must be a LocatorConfig", field="config")
        self._encoder = encoder
        self._roi = roi
        self._ocr = ocr
        self._ocr_resolved = ocr is not None
        self._adapter = adapter
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None  # reads ahead (see ``_read_ahead``)
        self._screens: OrderedDict[str, _Screen] = OrderedDict()
        self._stats: dict[str, float] = {"calls": 0, "total_ms": 0.0, "last_ms": 0.0, "candidates": 0,
                                         "embedded": 0, "ocr_crops": 0, "found": 0}

    # --- collaborators ------------------------------------------------------------------
    def set_adapter(self, fn: Callable[[np.ndarray], np.ndarray] | None) -> None:
        """Swap the embedding adapter atomically (``None`` removes it); one locate call works with
        the adapter it started with."""
        if fn is not None and not callable(fn):
            raise ValidationError("adapter must be callable or None", field="adapter")
        with self._lock:
            self._adapter = fn

    def _get_encoder(self) -> Any:
        with self._lock:
            if self._encoder is None:
                self._encoder = backends.default_encoder()
            return self._encoder

    def _get_ocr(self) -> Any:
        if not self.config.use_ocr:
            return None
        with self._lock:
            if not self._ocr_resolved:
                self._ocr = backends.default_ocr()
                self._ocr_resolved = True
            return self._ocr

    def _get_roi(self) -> Any:
        """The ROI optimizer handed in (share the one whose per-frame cache the rest of the app
        fills), else ``None``: contour proposals, which cost a few ms per new frame."""
        return self._roi

    def read_text(self, crop: np.ndarray) -> str:
        """The text this Locator's OCR reads in ``crop``, whitespace-normalised: what a recording
        stores with its target, so that a replay does not read the target again ("" without OCR)."""
        ocr = self._get_ocr()
        if ocr is None:
            return ""
        return " ".join((backends.ocr_read(ocr, [as_bgr(crop, "crop")]) or [""])[0].split())

    def stats(self) -> dict[str, float]:
        with self._lock:
            s = dict(self._stats)
        s["mean_ms"] = s["total_ms"] / s["calls"] if s["calls"] else 0.0
        return s

    # --- screens ------------------------------------------------------------------------
    def _screen(self, screen: Frame | np.ndarray) -> _Screen:
        if isinstance(screen, Frame):
            key, frame, scale = screen.key, screen, screen.monitor.scale
            bgr = None
        else:
            bgr = as_bgr(screen, "screen")
            key, frame, scale = frame_key(bgr), None, None
        with self._lock:
            hit = self._screens.get(key)
            if hit is not None:
                self._screens.move_to_end(key)
                return hit
        if bgr is None:
            assert frame is not None
            bgr = frame.bgr()
        gray = gray_of(bgr)
        sc = _Screen(frame, bgr, gray, ScreenPyramid(gray), scale)
        with self._lock:
            self._screens[key] = sc
            while len(self._screens) > _SCREEN_CACHE:
                self._screens.popitem(last=False)
        return sc

    # --- the search ---------------------------------------------------------------------
    def _scales(self, target: TargetSpec, scr: _Screen) -> list[float]:
        priors = [1.0]
        if scr.scale is not None and abs(scr.scale - target.reference_scale) > 1e-3:
            priors = [scr.scale / target.reference_scale]
        if target.reference is not None:
            rh, rw = target.reference.shape[:2]
            sh, sw = scr.gray.shape[:2]
            ratio = float(np.sqrt((sw * sh) / (rw * rh)))
            if abs(ratio - 1.0) > 0.05 and all(abs(ratio / p - 1.0) > 0.05 for p in priors):
                priors.append(ratio)
        raw = sorted({round(p * s, 3) for p in priors for s in self.config.scales})
        out: list[float] = []
        for s in raw:
            if not out or s / out[-1] > 1.06:
                out.append(s)
        return out

    def _target_feats(self, target: TargetSpec) -> tuple[np.ndarray, np.ndarray]:
        def make() -> tuple[np.ndarray, np.ndarray]:
            g = gray_of(target.crop)
            return g, gradient(g)

        feats: tuple[np.ndarray, np.ndarray] = target.cached("feats", make)
        return feats

    def _inner_feats(self, target: TargetSpec) -> tuple[np.ndarray, np.ndarray] | None:
        def make() -> tuple[np.ndarray, np.ndarray] | None:
            g = gray_of(target.crop)
            h, w = g.shape[:2]
            if min(h, w) < 12:
                return None
            dy, dx = max(1, round(h * _INNER)), max(1, round(w * _INNER))
            inner = np.ascontiguousarray(g[dy : h - dy, dx : w - dx])
            return inner, gradient(inner)

        feats: tuple[np.ndarray, np.ndarray] | None = target.cached("inner", make)
        return feats

    def _ref_grad(self, target: TargetSpec) -> LazyGradient:
        """The recorded screen's gradient, computed where it is needed (window, surroundings)."""
        assert target.reference is not None
        ref = target.reference
        grad: LazyGradient = target.cached("ref_grad", lambda: LazyGradient(gray_of(ref)))
        return grad

    def _appearance(self, target: TargetSpec, scr: _Screen, box: Box) -> float:
        """Exact appearance at a box: the best of gray (either polarity) and gradient correlation
        of the whole element and of its inside (frames and borders are what themes restyle)."""
        feats = self._target_feats(target)  # (the factory below must not take the target's lock again)
        whole: Appearance = target.cached("appearance", lambda: Appearance(*feats))
        g, d = whole.score(crop_padded(scr.gray, box))
        best = max(g, d)
        inner = self._inner_feats(target)
        if inner is not None:
            inside: Appearance = target.cached("appearance_inner", lambda: Appearance(*inner))
            ih, iw = target.crop.shape[:2]
            fx, fy = box.width / iw, box.height / ih
            dy, dx = max(1, round(ih * _INNER)), max(1, round(iw * _INNER))
            ibox = Box(box.x1 + dx * fx, box.y1 + dy * fy, box.x2 - dx * fx, box.y2 - dy * fy)
            gi, di = inside.score(crop_padded(scr.gray, ibox))
            best = max(best, 0.5 * (best + max(gi, di)))
        return best

    def _refine(self, target: TargetSpec, scr: _Screen, c: _Cand, sized: dict[tuple[int, int], np.ndarray]) -> None:
        """Local search around a candidate (position, and size by +-8%) at full resolution;
        ``sized``: the template's gradient per size, shared by the candidates of one locate."""
        t_gray, _ = self._target_feats(target)
        best = (-2.0, c.box, c.scale)
        th, tw = t_gray.shape[:2]
        for f in (0.92, 1.0, 1.08):
            w, h = c.box.width * f, c.box.height * f
            if w < 3 or h < 3:
                continue
            r = max(3.0, 0.25 * min(w, h))
            cx, cy = c.box.center.x, c.box.center.y
            region = Box(cx - w / 2 - r, cy - h / 2 - r, cx + w / 2 + r, cy + h / 2 + r)
            patch = crop_padded(scr.grad, region)
            size = (max(1, int(round(w))), max(1, int(round(h))))  # as resize_to rounds
            tmpl = sized.get(size)
            if tmpl is None:  # candidates at one scale share their sizes
                tmpl = sized[size] = gradient(resize_to(t_gray, *size))
            if tmpl.shape[0] > patch.shape[0] or tmpl.shape[1] > patch.shape[1] or float(tmpl.std()) < 1e-3:
                continue
            resp = cv2.matchTemplate(patch, tmpl, cv2.TM_CCOEFF_NORMED)
            _, v, _, loc = cv2.minMaxLoc(resp)
            if v > best[0]:
                x1 = round(region.x1) + loc[0]
                y1 = round(region.y1) + loc[1]
                bw, bh = tmpl.shape[1], tmpl.shape[0]
                best = (v, Box(x1, y1, x1 + bw, y1 + bh), float(np.sqrt(bw * bh / (tw * th))))
        if best[0] > -2.0:
            c.box, c.scale = best[1], best[2]

    def _proposals(self, target: TargetSpec, scr: _Screen, scales: list[float]) -> list[Proposal]:
        cfg = self.config
        t_gray, _ = self._target_feats(target)
        twh = (float(t_gray.shape[1]), float(t_gray.shape[0]))
        fit = self._window(target, scr, scales)
        sh, sw = scr.gray.shape[:2]
        area = search_area(fit, twh, (sw, sh))
        props = template_proposals(
            scr.pyramid, t_gray, _near_fit(scales, fit),
            min_side=cfg.coarse_min_side, min_factor=cfg.coarse_min_factor,
            max_factor=cfg.coarse_max_factor, threshold=cfg.peak_threshold, per_scale=cfg.peaks_per_scale,
            area=area,
        )
        if cfg.use_contours:
            roi = self._get_roi()
            if roi is not None and scr.frame is not None:
                try:
                    props += roi_proposals(lambda: backends.roi_propose(roi, scr.frame), twh, scales, area=area)
                except Exception as exc:  # a broken ROI backend must not stop locating
                    log.warning("ROI proposals failed (%s); using contours", exc)
                    props += contour_proposals(scr.gray, twh, scales, area=area)
            else:
                props += contour_proposals(scr.gray, twh, scales, area=area)
        if fit is not None:
            mapped = fit.map_box(target.box)
            s = float(np.sqrt(fit.sx * fit.sy))
            c = mapped.center
            props.append(Proposal(mapped, "predicted", 0.0, s))
            props.append(Proposal(Box(c.x - twh[0] * s / 2, c.y - twh[1] * s / 2, c.x + twh[0] * s / 2,
                                      c.y + twh[1] * s / 2), "predicted", 0.0, s))
        for center, _sigma in self._predictions(target, scr, None):
            s = scales[len(scales) // 2] if len(scales) else 1.0
            s = 1.0 if 1.0 in scales else s
            w, h = twh[0] * s, twh[1] * s
            props.append(Proposal(Box(center.x - w / 2, center.y - h / 2, center.x + w / 2, center.y + h / 2),
                                  "predicted", 0.0, s))
        return props

    def _window(self, target: TargetSpec, scr: _Screen, scales: list[float]) -> WindowFit | None:
        """The recorded window (or surroundings) fitted on this screen; once per target and screen."""
        if target.reference is None:
            return None
        ref = target.reference
        region = surroundings(target.box, target.window_box, (ref.shape[1], ref.shape[0]))
        if region is None:
            return None
        key = ("window", id(scr))
        with self._lock:
            memo = scr.memo.get(key)
        if memo is not None and memo[0] is target:
            fit: WindowFit | None = memo[1]
            return fit
        patch = self._ref_grad(target).crop(Box(*region.as_int_tuple()))
        uneven = target.window_box is not None and region == target.window_box.clip(ref.shape[1], ref.shape[0])
        fit = fit_window(patch, region, scr.pyramid, scales, uneven=uneven)
        with self._lock:
            scr.memo[key] = (target, fit)
        return fit

    def _layout(self, target: TargetSpec, fit: WindowFit | None, c: _Cand) -> float | None:
        """How close a candidate is to where the window fit puts the target, in [0, 1]."""
        if fit is None:
            return None
        p = fit.map(target.box.center)
        sigma = 0.5 * max(target.box.width * fit.sx, target.box.height * fit.sy) + 4.0
        return float(np.exp(-c.box.center.distance(p) ** 2 / (2 * sigma * sigma)))

    def _predictions(self, target: TargetSpec, scr: _Screen, scale: float | None) -> list[tuple[Point, float]]:
        """Where the target is expected: its last position, its relative place on the screen, and
        (given a scale) where its anchors say it is. ``(centre, sigma)`` pairs."""
        sh, sw = scr.gray.shape[:2]
        diag = float(np.hypot(sw, sh))
        out: list[tuple[Point, float]] = []
        tc = target.box.center
        same_size = target.reference is None or target.reference.shape[:2] == (sh, sw)
        if target.last_box is not None and same_size:
            out.append((target.last_box.center, 0.02 * diag))
        if target.reference is not None:
            if scale is not None:
                for anchor in target.anchors[:3]:
                    hit = self._find_anchor(target, scr, anchor.box, scale)
                    if hit is not None:
                        ac = anchor.box.center
                        p = Point(hit.x + (tc.x - ac.x) * scale, hit.y + (tc.y - ac.y) * scale)
                        out.append((p, 0.5 * max(target.box.width, target.box.height) * scale + 4))
        return out

    def _find_anchor(self, target: TargetSpec, scr: _Screen, abox: Box, scale: float) -> Point | None:
        assert target.reference is not None
        a = crop_padded(gray_of(target.reference), abox)
        w, h = a.shape[1] * scale, a.shape[0] * scale
        lv = pick_level(min(w, h), self.config.coarse_min_side, self.config.coarse_min_factor)
        screen = scr.pyramid.grad(lv)
        tmpl = scaled_template(a, w, h, lv)
        if tmpl.shape[0] >= screen.shape[0] or tmpl.shape[1] >= screen.shape[1] or float(tmpl.std()) < 1e-3:
            return None
        resp = cv2.matchTemplate(screen, tmpl, cv2.TM_CCOEFF_NORMED)
        _, v, _, loc = cv2.minMaxLoc(resp)
        if v < 0.5:
            return None
        return Point((loc[0] + tmpl.shape[1] / 2) / lv, (loc[1] + tmpl.shape[0] / 2) / lv)

    def _position(self, c: _Cand, preds: list[tuple[Point, float]], rel: tuple[Point, float] | None) -> float | None:
        vals = [float(np.exp(-c.box.center.distance(p) ** 2 / (2 * s * s))) for p, s in preds]
        if rel is not None:
            p, s = rel
            vals.append(0.5 * float(np.exp(-c.box.center.distance(p) ** 2 / (2 * s * s))))
        return max(vals) if vals else None

    def _fuse(self, ev: dict[str, float]) -> float:
        w = self.config.weights
        num = sum(w.get(k, 0.0) * v for k, v in ev.items())
        den = sum(w.get(k, 0.0) for k in ev)
        return num / den if den > 0 else 0.0

    def locate(self, target: TargetSpec, screen: Frame | np.ndarray, top_k: int = 5) -> list[Candidate]:
        """Ranked candidates for ``target`` on ``screen`` (best first, at most ``top_k``)."""
        if not isinstance(target, TargetSpec):
            raise ValidationError("target must be a TargetSpec", field="target")
        if int(top_k) < 1:
            raise ValidationError(f"top_k must be >= 1, got {top_k}", field="top_k")
        t0 = time.perf_counter()
        cfg = self.config
        scr = self._screen(screen)
        scales = self._scales(target, scr)
        props = self._proposals(target, scr, scales)
        # 1. pool, score cheaply by exact appearance, suppress
        t_aspect = target.crop.shape[1] / target.crop.shape[0]
        cands = [_Cand(p.box, p.scale, p.source) for p in _interleave(props, 2 * cfg.max_candidates)]
        for c in cands:
            self._cheap(target, scr, c, t_aspect)
        # near-duplicates only: a slightly-off box at the right scale must survive until refined
        keep = nms([c.box for c in cands], [c.score for c in cands], max(cfg.nms_iou, 0.7))[: cfg.max_candidates]
        # predicted boxes (window fit, anchors, last place) exist for when the appearance changed:
        # they stay whatever their cheap score (else one desktop pixel can reorder the cut)
        kept = set(keep)
        keep += [i for i, c in enumerate(cands) if c.source == "predicted" and i not in kept]
        cands = [cands[i] for i in keep]
        # 2. refine the best at full resolution
        sized: dict[tuple[int, int], np.ndarray] = {}
        for c in cands[:_REFINE_TOP]:
            before = (c.box, c.scale, dict(c.ev), c.score)
            self._refine(target, scr, c, sized)
            self._cheap(target, scr, c, t_aspect)
            if c.score < before[3]:  # the refinement must not make a candidate look worse
                c.box, c.scale, c.ev, c.score = before
        best_scale = max(cands, key=lambda c: c.score).scale if cands else 1.0
        preds = self._predictions(target, scr, best_scale)
        rel = self._relative_prior(target, scr)
        fit = self._window(target, scr, scales)
        for c in cands:
            pos = self._position(c, preds, rel)
            if pos is not None:
                c.ev["position"] = pos
            lay = self._layout(target, fit, c)
            if lay is not None:
                c.ev["layout"] = lay
            c.score = self._fuse(c.ev)
        order = nms([c.box for c in cands], [c.score for c in cands], cfg.nms_iou)
        top = [cands[i] for i in order[: cfg.expensive_top]]
        # 3. expensive signals for the best few
        self._expensive(target, scr, top)
        for c in top:
            c.score = self._fuse(c.ev)
        order = nms([c.box for c in top], [c.score for c in top], cfg.nms_iou)
        top = [top[i] for i in order]
        result = self._calibrate(top, top_k)
        ms = (time.perf_counter() - t0) * 1000
        with self._lock:
            st = self._stats
            st["calls"] += 1
            st["total_ms"] += ms
            st["last_ms"] = ms
            st["candidates"] += len(cands)
            st["found"] += 1 if result else 0
        return result

    def _relative_prior(self, target: TargetSpec, scr: _Screen) -> tuple[Point, float] | None:
        if target.reference is None:
            return None
        rh, rw = target.reference.shape[:2]
        sh, sw = scr.gray.shape[:2]
        c = target.box.center
        return Point(c.x / rw * sw, c.y / rh * sh), 0.15 * float(np.hypot(sw, sh))

    def _cheap(self, target: TargetSpec, scr: _Screen, c: _Cand, t_aspect: float) -> None:
        c.ev["template"] = max(0.0, self._appearance(target, scr, c.box))
        da = abs(float(np.log(max(c.box.aspect, 1e-6) / t_aspect)))
        c.ev["shape"] = float(np.exp(-2.0 * da))
        c.score = self._fuse(c.ev)

    def _expensive(self, target: TargetSpec, scr: _Screen, top: list[_Cand]) -> None:
        if not top:
            return
        cfg = self.config
        reading = cfg.ocr_top > 0 and cfg.weights.get("text", 0.0) > 0
        ahead = self._read_ahead(target, scr, top) if reading else None
        if target.reference is not None:
            ref_grad = self._ref_grad(target)
            for c in top:
                c.ev["context"] = max(0.0, context_similarity(ref_grad, target.box, scr.grad, c.box,
                                                              cfg.context_factor))
        if cfg.weights.get("embedding", 0.0) > 0:
            self._embedding(target, scr, top)
        if ahead is not None:
            try:
                ahead.result()
            except Exception as exc:  # the read is made again below, where its error counts
                log.debug("OCR read-ahead failed: %s", exc)
        if reading:
            self._text(target, scr, top)

    def _read_ahead(self, target: TargetSpec, scr: _Screen, top: list[_Cand]) -> Future[Any] | None:
        """Start reading the text of the best candidate so far (and of the target, when the
        recording holds none) on a helper thread while the context and embedding are computed:
        the OCR engine answers a crop it has read from memory, so ``_text`` finds it read when
        the best stays the best (it usually does). Only for an OCR that caches its reads."""
        ocr = self._get_ocr()
        if ocr is None or not getattr(ocr, "caches", False):
            return None
        crops = [crop_padded(scr.bgr, top[0].box)]
        if target.text is None:
            crops.append(target.crop)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rpa-ocr-ahead")
            pool = self._pool
        return pool.submit(backends.ocr_read, ocr, crops)

    def _embedding(self, target: TargetSpec, scr: _Screen, top: list[_Cand]) -> None:
        enc = self._get_encoder()
        with self._lock:
            adapter = self._adapter
        crops = [crop_padded(scr.bgr, c.box) for c in top]

        def base_target() -> np.ndarray:
            probe = backends.embed(enc, [target.crop], None)
            if target.embedding is not None and probe.shape[1] == target.embedding.size:
                return backends._norm_rows(target.embedding[None, :])  # the recorded one
            return probe

        tb: np.ndarray = target.cached(f"emb:{id(enc)}", base_target)
        cb = backends.embed(enc, crops, None)
        scoped = getattr(adapter, "similarities", None)
        if scoped is not None:  # a scoped adapter: adapted similarities only for taught targets
            sims = np.asarray(scoped(tb[0], cb), np.float32)
        elif adapter is not None:
            sims = backends._norm_rows(adapter(cb)) @ backends._norm_rows(adapter(tb))[0]
        else:
            sims = cb @ tb[0]
        for c, s in zip(top, sims, strict=True):
            c.ev["embedding"] = float(max(0.0, min(1.0, s)))
        with self._lock:
            self._stats["embedded"] += len(crops)

    def _text(self, target: TargetSpec, scr: _Screen, top: list[_Cand]) -> None:
        ocr = self._get_ocr()
        if ocr is None:
            return
        want = target.text
        if want is None:
            want = target.cached("ocr_text", lambda: (backends.ocr_read(ocr, [target.crop]) or [""])[0])
        if not want.strip():
            return
        # Read only what could change the answer: candidates close to the best one, then more
        # (a batch at a time) while none of those read says the target's text.
        ranked = sorted(top, key=lambda c: -self._fuse(c.ev))
        best = self._fuse(ranked[0].ev)
        close = sum(1 for c in ranked if self._fuse(c.ev) >= best - self.config.ocr_window)
        batch = max(1, self.config.ocr_top)
        n_first = max(1, min(batch, close))
        done = 0
        while done < len(ranked):
            n = n_first if done == 0 else batch
            chunk = ranked[done : done + n]
            read = backends.ocr_read(ocr, [crop_padded(scr.bgr, c.box) for c in chunk])
            for c, txt in zip(chunk, read, strict=True):
                c.ev["text"] = _case_aware(want, txt, backends.text_similarity(want, txt))
            done += len(chunk)
            if max(c.ev["text"] for c in ranked[:done]) >= _TEXT_MATCH or done >= self.config.ocr_budget:
                break
        for c in ranked[done:]:
            c.ev["text"] = 0.5  # unread: neither for nor against
        with self._lock:
            self._stats["ocr_crops"] += done

    def _calibrate(self, top: list[_Cand], top_k: int) -> list[Candidate]:
        params = self.config.calibration
        out: list[Candidate] = []
        for c in top:
            if c.score < self.config.min_score:
                continue
            others = [o.score for o in top if o is not c and o.box.iou(c.box) < 0.3
                      and not c.box.contains(o.box.center)]
            margin = c.score - (max(others) if others else 0.0)
            x = c.ev.get("context", c.ev.get("template", 0.0))
            conf = confidence(params, c.score, margin, x, self.config.ambiguity_gain)
            ev = dict(c.ev)
            ev["margin"] = margin
            out.append(Candidate(c.box, conf, c.score, ev, max(c.scale, 1e-3)))
            if len(out) >= top_k:
                break
        return out
