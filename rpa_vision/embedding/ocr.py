"""OCR of GUI crops: an engine interface, a rapidocr (ONNX Runtime) backend, a no-op and a fake.

    ocr = create_ocr("auto")             # rapidocr when installed, else the "none" engine
    res = ocr.read(crop_bgr)             # OcrResult(text, confidence, lines)
    results = ocr.read([crop1, crop2])   # one OcrResult per crop

rapidocr works offline with its bundled models. Small single-line crops (buttons, labels, menu
items) skip text detection and go straight to recognition, which is ~20x cheaper; larger crops
get detection + recognition. Results are cached by crop content (bounded LRU); engines are
thread-safe. The rest of the pipeline works without OCR: the ``none`` engine reads "".
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

import cv2
import numpy as np

from rpa_vision.core.errors import DependencyMissingError, RpaVisionError, UnknownNameError, ValidationError
from rpa_vision.core.frame import content_hash
from rpa_vision.core.geometry import Box
from rpa_vision.core.logging import get_logger
from rpa_vision.embedding.base import as_bgr

log = get_logger(__name__)


class OcrError(RpaVisionError):
    """The OCR engine failed on an input."""


class OcrLine(NamedTuple):
    text: str
    box: Box  # crop pixels
    confidence: float


@dataclass(frozen=True)
class OcrResult:
    """Text read in a crop: the lines joined top-to-bottom, left-to-right, and their mean confidence."""

    text: str = ""
    confidence: float = 0.0
    lines: tuple[OcrLine, ...] = ()

    @classmethod
    def from_lines(cls, lines: Sequence[OcrLine]) -> OcrResult:
        ordered = tuple(sorted(lines, key=lambda ln: (round(ln.box.center.y / max(ln.box.height, 1.0)),
                                                      ln.box.x1)))
        if not ordered:
            return cls()
        chars = sum(max(1, len(ln.text)) for ln in ordered)
        conf = sum(ln.confidence * max(1, len(ln.text)) for ln in ordered) / chars
        return cls(" ".join(ln.text for ln in ordered), float(conf), ordered)


EMPTY = OcrResult()


class OcrEngine(ABC):
    """Reads text in crops. Subclasses implement ``_read_one`` (a validated BGR crop)."""

    name = "ocr"

    def __init__(self, cache_entries: int = 4096) -> None:
        if cache_entries < 0:
            raise ValidationError("cache_entries must be >= 0", field="cache_entries")
        self._cache: OrderedDict[str, OcrResult] = OrderedDict()
        self._cache_entries = int(cache_entries)
        self._cache_lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @abstractmethod
    def _read_one(self, crop: np.ndarray) -> OcrResult:
        """Read one BGR uint8 crop."""

    def status(self) -> str:
        return self.name

    @property
    def caches(self) -> bool:
        """Whether a crop read once is answered from memory the next time (by its content)."""
        return self._cache_entries > 0

    @overload
    def read(self, crops: np.ndarray) -> OcrResult: ...

    @overload
    def read(self, crops: Sequence[np.ndarray]) -> list[OcrResult]: ...

    def read(self, crops: np.ndarray | Sequence[np.ndarray]) -> OcrResult | list[OcrResult]:
        """One crop -> ``OcrResult``; a sequence of crops -> a list of them (gray/BGRA accepted)."""
        if isinstance(crops, np.ndarray) and crops.ndim in (2, 3):
            return self._read_cached(as_bgr(crops))
        return [self._read_cached(as_bgr(c, i)) for i, c in enumerate(crops)]

    def read_text(self, crop: np.ndarray) -> str:
        return self._read_cached(as_bgr(crop)).text

    def _read_cached(self, crop: np.ndarray) -> OcrResult:
        key = content_hash(crop)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return hit
            self.misses += 1
        with self._engine_lock:
            res = self._read_one(crop)
        if self._cache_entries:
            with self._cache_lock:
                self._cache[key] = res
                while len(self._cache) > self._cache_entries:
                    self._cache.popitem(last=False)
        return res


class NoOcr(OcrEngine):
    """Reads nothing: the pipeline's OCR evidence is simply unavailable."""

    name = "none"

    def _read_one(self, crop: np.ndarray) -> OcrResult:
        return EMPTY

    def status(self) -> str:
        return "none (OCR disabled)"


class FakeOcr(OcrEngine):
    """For tests and demos: texts given per crop content, or computed by a function."""

    name = "fake"

    def __init__(self, texts: Mapping[str, str] | Callable[[np.ndarray], str] | None = None,
                 confidence: float = 0.99, cache_entries: int = 0) -> None:
        super().__init__(cache_entries=cache_entries)
        self._fn = texts if callable(texts) else None
        self._texts: dict[str, str] = dict(texts) if isinstance(texts, Mapping) else {}
        self.confidence = float(confidence)
        self.calls = 0

    def register(self, crop: np.ndarray, text: str) -> None:
        """The text this fake reads in ``crop`` (matched by exact content)."""
        self._texts[content_hash(as_bgr(crop))] = text

    def _read_one(self, crop: np.ndarray) -> OcrResult:
        self.calls += 1
        text = self._fn(crop) if self._fn is not None else self._texts.get(content_hash(crop), "")
        if not text:
            return EMPTY
        h, w = crop.shape[:2]
        return OcrResult.from_lines([OcrLine(text, Box(0, 0, w, h), self.confidence)])


def _import_rapidocr() -> Any:
    """Import rapidocr without letting it change Qt's plugin path (PySide6 must find its own)."""
    saved = {k: os.environ.get(k) for k in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR", "QT_PLUGIN_PATH")}
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise DependencyMissingError("rapidocr-onnxruntime",
                                     "pip install rapidocr-onnxruntime onnxruntime (or use --ocr none)") from exc
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return RapidOCR


_SESSION_PATCH = threading.Lock()


@contextmanager
def _no_spinning() -> Iterator[None]:
    """Build rapidocr's onnxruntime sessions with idle worker threads that sleep instead of
    spinning. By default they busy-wait after each run, and on a 2-core machine that stole the
    CPU from the OpenCV work right after a read (a locate's median went from ~100 to ~130-150
    ms). rapidocr does not expose session options, so its option builder is wrapped while the
    engine is made; a rapidocr without that builder is left as it is."""
    try:
        from rapidocr_onnxruntime.utils import infer_engine
    except ImportError:
        yield
        return
    cls = getattr(infer_engine, "OrtInferSession", None)
    orig = getattr(cls, "_init_sess_opts", None)
    if cls is None or orig is None:
        yield
        return

    def options(config: Any) -> Any:
        opts = orig(config)
        try:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        except Exception as exc:  # an onnxruntime without these entries: keep its defaults
            log.debug("cannot turn off onnxruntime spinning: %s", exc)
        return opts

    with _SESSION_PATCH:
        cls._init_sess_opts = staticmethod(options)
        try:
            yield
        finally:
            cls._init_sess_opts = staticmethod(orig)


class RapidOcr(OcrEngine):
    """rapidocr-onnxruntime (PP-OCR models bundled with the package; no network).

    ``rec_width``: the recognizer pads every line to at least this many pixels at 48 high
    (rapidocr's own default is 320). Screen labels are short: on the evaluation suite's labelled
    elements 160 reads as many exactly (70.5%) as 320 in about 60% of the time."""

    name = "rapidocr"

    def __init__(self, *, line_max_height: int = 64, min_confidence: float = 0.5, threads: int | None = None,
                 cache_entries: int = 4096, rec_width: int = 160) -> None:
        super().__init__(cache_entries)
        if line_max_height < 8:
            raise ValidationError("line_max_height must be >= 8", field="line_max_height")
        if not 0 <= min_confidence <= 1:
            raise ValidationError("min_confidence must be in [0, 1]", field="min_confidence")
        if not 48 <= rec_width <= 1280:
            raise ValidationError("rec_width must be in [48, 1280]", field="rec_width")
        self.line_max_height = int(line_max_height)
        self.min_confidence = float(min_confidence)
        rapid = _import_rapidocr()
        nthreads = int(threads) if threads else max(1, min(4, os.cpu_count() or 1))
        try:
            with _no_spinning():
                self._engine = rapid(det_limit_side_len=960, det_limit_type="max", intra_op_num_threads=nthreads,
                                     inter_op_num_threads=1, print_verbose=False, rec_img_shape=[3, 48, rec_width])
        except Exception as exc:  # onnxruntime session errors have no common base class
            raise DependencyMissingError("rapidocr-onnxruntime", f"cannot start its models: {exc}") from exc

    def _single_line(self, crop: np.ndarray) -> bool:
        h, w = crop.shape[:2]
        return h <= self.line_max_height and w >= h * 0.6

    def _read_one(self, crop: np.ndarray) -> OcrResult:
        h, w = crop.shape[:2]
        if h < 4 or w < 4:
            return EMPTY
        try:
            if self._single_line(crop):
                region = _text_region(crop)
                rh = region.shape[0]
                pad = max(3, rh // 4)
                border = np.median(np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]]), axis=0)
                if float(border.mean()) < 110:  # light text on a dark theme: the models prefer dark on light
                    region, border = 255 - region, 255 - border
                padded = cv2.copyMakeBorder(region, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                            value=[int(v) for v in border])
                res, _ = self._engine(padded, use_det=False, use_cls=False, use_rec=True)
                lines = []
                for item in res or []:
                    text, conf = str(item[0]).strip(), float(item[1])
                    if text and conf >= self.min_confidence:
                        lines.append(OcrLine(text, Box(0, 0, w, h), conf))
                return OcrResult.from_lines(lines)
            res, _ = self._engine(crop, use_det=True, use_cls=False, use_rec=True)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise OcrError(f"OCR failed on a {w}x{h} crop: {exc}") from exc
        lines = []
        for item in res or []:
            pts, text, conf = item[0], str(item[1]).strip(), float(item[2])
            if not text or conf < self.min_confidence:
                continue
            xs, ys = [float(p[0]) for p in pts], [float(p[1]) for p in pts]
            box = Box(max(0.0, min(xs)), max(0.0, min(ys)), min(float(w), max(xs)), min(float(h), max(ys)))
            lines.append(OcrLine(text, box, conf))
        return OcrResult.from_lines(lines)

    def status(self) -> str:
        return ocr_status()


def _text_region(crop: np.ndarray) -> np.ndarray:
    """The part of a one-line crop that holds its text: pixels unlike the background, without
    frame lines (rows/columns that are ink across most of the crop) and without what touches the
    border. The whole crop when nothing is found."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)
    h, w = gray.shape
    ink = np.zeros((h, w), bool)
    inner = gray[1:-1, 1:-1] if h > 2 and w > 2 else gray
    bg = int(np.median(inner))
    ink = np.abs(gray - bg) > 48
    ink &= ~(ink.mean(axis=1) > 0.7)[:, None]
    ink &= ~(ink.mean(axis=0) > 0.7)[None, :]
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    st = stats[1:count]
    if len(st) == 0:
        return crop
    x0, y0, cw, ch = st[:, 0], st[:, 1], st[:, 2], st[:, 3]
    keep = (x0 > 0) & (y0 > 0) & (x0 + cw < w) & (y0 + ch < h) & (cw < 0.9 * w) & (ch < 0.9 * h)
    if not keep.any():
        return crop
    k = st[keep]
    bx0, by0 = int(k[:, 0].min()), int(k[:, 1].min())
    bx1, by1 = int((k[:, 0] + k[:, 2]).max()), int((k[:, 1] + k[:, 3]).max())
    m = 1
    return crop[max(0, by0 - m):min(h, by1 + m), max(0, bx0 - m):min(w, bx1 + m)]


_ENGINES: dict[str, Callable[..., OcrEngine]] = {
    "rapidocr": RapidOcr,
    "none": NoOcr,
    "fake": FakeOcr,
}


def rapidocr_available() -> bool:
    return (importlib.util.find_spec("rapidocr_onnxruntime") is not None
            and importlib.util.find_spec("onnxruntime") is not None)


def create_ocr(name: str = "auto", **kw: Any) -> OcrEngine:
    """An OCR engine: ``rapidocr``, ``none``, ``fake`` or ``auto`` (rapidocr when installed, else none)."""
    key = (name or "auto").strip().lower()
    if key == "auto":
        if rapidocr_available():
            try:
                return RapidOcr(**kw)
            except DependencyMissingError as exc:
                log.warning("OCR unavailable, continuing without it: %s", exc)
                return NoOcr()
        log.info("rapidocr-onnxruntime is not installed; continuing without OCR")
        return NoOcr()
    factory = _ENGINES.get(key)
    if factory is None:
        raise UnknownNameError("OCR engine", name, [*_ENGINES, "auto"])
    return factory(**kw)


def ocr_status() -> str:
    """One line for ``rpa-vision doctor`` (instant: looks for the package and its model files)."""
    if not rapidocr_available():
        raise DependencyMissingError("rapidocr-onnxruntime", "pip install rapidocr-onnxruntime onnxruntime "
                                     "(the pipeline works without OCR)")
    from importlib.metadata import PackageNotFoundError, version

    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    origin = spec.origin if spec is not None else None
    models = os.path.join(os.path.dirname(origin), "models") if origin else ""
    found = sorted(f for f in os.listdir(models) if f.endswith(".onnx")) if models and os.path.isdir(models) else []
    if not found:
        raise DependencyMissingError("rapidocr-onnxruntime", f"its bundled models are missing from {models}")
    try:
        rv, ov = version("rapidocr-onnxruntime"), version("onnxruntime")
    except PackageNotFoundError:
        rv = ov = "?"
    return f"rapidocr-onnxruntime {rv} (onnxruntime {ov}), {len(found)} bundled models, offline"
