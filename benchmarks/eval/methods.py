"""The methods compared: our Locator, PyAutoGUI's locate (pyscreeze) and multi-scale template matching.

Each method gets the reference screen and a ground-truth box there (what a recording holds) and
the perturbed screen, and returns an ``Answer``. Only the search is timed. A method whose
implementation cannot be imported reports why (``unavailable``) instead of a result.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

import cv2
import numpy as np

from benchmarks.eval.metrics import Answer
from benchmarks.suite.load import SuiteElement, SuiteScreen
from rpa_vision.core.geometry import Box


class Method(ABC):
    name: str = "method"

    def unavailable(self) -> str | None:
        """Why this method cannot run here (``None`` when it can)."""
        return None

    @abstractmethod
    def find(self, ref: SuiteScreen, element: SuiteElement, screen: np.ndarray) -> Answer:
        """Find ``element`` of ``ref`` on ``screen`` (BGR)."""


class LocatorMethod(Method):
    """``rpa_vision.locate.Locator`` with the recording's full context (reference screen, box,
    window box, and the target's text, which the recorder reads and stores when it records a
    step, so it is read here before the timer starts); top-1 candidate, confident at the
    locator's ``act_threshold``."""

    name = "locator"

    def __init__(self, locator: Any = None, *, cold: bool = True) -> None:
        self._locator = locator
        self.cold = cold
        self._calls = 0
        self._why: str | None = None
        if locator is None:
            try:
                from rpa_vision.locate import Locator
            except ImportError as exc:  # another package still being written
                self._why = f"rpa_vision.locate is not importable: {exc}"
            else:
                self._locator = Locator()

    def unavailable(self) -> str | None:
        return self._why

    def find(self, ref: SuiteScreen, element: SuiteElement, screen: np.ndarray) -> Answer:
        from rpa_vision.locate import TargetSpec

        text = self._locator.read_text(ref.crop(element)) or None  # as the recording stored it
        target = TargetSpec.from_reference(ref.image, element.box, window_box=ref.window, text=text)
        if self.cold:  # a replay sees a new screen at every step: defeat the locator's screen cache
            screen = screen.copy()
            self._calls += 1
            screen[2, 2, 0] ^= np.uint8(1 + self._calls % 255)  # one desktop pixel, on the key's sample grid
        t0 = time.perf_counter()
        cands = self._locator.locate(target, screen, top_k=1)
        ms = (time.perf_counter() - t0) * 1000.0
        if not cands:
            return Answer(None, 0.0, False, ms)
        c = cands[0]
        return Answer(c.box, float(c.confidence), c.confidence >= self._locator.config.act_threshold, ms)


class PyAutoGUIMethod(Method):
    """``pyscreeze.locate`` (what ``pyautogui.locateOnScreen`` calls) with OpenCV, at a confidence."""

    def __init__(self, confidence: float = 0.9, grayscale: bool = False) -> None:
        self.confidence = confidence
        self.grayscale = grayscale
        self.name = f"pyautogui{'_gray' if grayscale else ''}@{confidence:g}"
        self._haystack: tuple[int, Any] | None = None

    def unavailable(self) -> str | None:
        try:
            import pyscreeze  # noqa: F401
            from PIL import Image  # noqa: F401
        except ImportError as exc:
            return f"pyscreeze/Pillow missing: {exc}"
        return None

    def _pil(self, bgr: np.ndarray) -> Any:
        from PIL import Image

        return Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def find(self, ref: SuiteScreen, element: SuiteElement, screen: np.ndarray) -> Answer:
        import pyscreeze

        needle = self._pil(ref.crop(element))
        if self._haystack is None or self._haystack[0] != id(screen):  # the "screenshot" a user passes
            self._haystack = (id(screen), self._pil(screen))
        hay = self._haystack[1]
        t0 = time.perf_counter()
        try:
            found = pyscreeze.locate(needle, hay, confidence=self.confidence, grayscale=self.grayscale)
        except pyscreeze.ImageNotFoundException:
            found = None
        ms = (time.perf_counter() - t0) * 1000.0
        if found is None:
            return Answer(None, 0.0, False, ms)
        left, top, width, height = (int(v) for v in found)
        return Answer(Box.from_xywh(left, top, width, height), self.confidence, True, ms)


class TemplateMethod(Method):
    """Plain multi-scale template matching: ``cv2.matchTemplate`` (TM_CCOEFF_NORMED, grayscale) of
    the crop resized to 13 scales from 0.5 to 2 over the screen; the best peak wins, confident
    from ``threshold``."""

    def __init__(self, scales: tuple[float, ...] | None = None, threshold: float = 0.8) -> None:
        self.scales = scales or tuple(float(s) for s in np.geomspace(0.5, 2.0, 13))
        self.threshold = threshold
        self.name = "template_multiscale"

    def find(self, ref: SuiteScreen, element: SuiteElement, screen: np.ndarray) -> Answer:
        crop = cv2.cvtColor(ref.crop(element), cv2.COLOR_BGR2GRAY)
        t0 = time.perf_counter()
        gray = cv2.cvtColor(screen, cv2.COLOR_BGR2GRAY)
        best: tuple[float, Box | None] = (-2.0, None)
        sh, sw = screen.shape[:2]
        for s in self.scales:
            w = max(1, round(crop.shape[1] * s))
            h = max(1, round(crop.shape[0] * s))
            if w < 4 or h < 4 or w > sw or h > sh:
                continue
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            needle = cv2.resize(crop, (w, h), interpolation=interp)
            res = cv2.matchTemplate(gray, needle, cv2.TM_CCOEFF_NORMED)
            _, score, _, loc = cv2.minMaxLoc(res)
            if np.isfinite(score) and score > best[0]:
                best = (float(score), Box.from_xywh(loc[0], loc[1], w, h))
        ms = (time.perf_counter() - t0) * 1000.0
        score, box = best
        if box is None:
            return Answer(None, 0.0, False, ms)
        return Answer(box, max(0.0, min(1.0, score)), score >= self.threshold, ms)


def default_methods() -> list[Method]:
    return [LocatorMethod(), PyAutoGUIMethod(0.9), PyAutoGUIMethod(0.8), PyAutoGUIMethod(0.9, grayscale=True),
            TemplateMethod()]
