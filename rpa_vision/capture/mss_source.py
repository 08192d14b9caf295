"""The mss screen source: fast native grabs on X11, Windows and macOS.

mss objects are bound to the thread that made them (GDI handles on Windows, one X connection
each), so one is created lazily per thread and all of them are closed together.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from rpa_vision.capture.base import ScreenSource
from rpa_vision.capture.dpi import ensure_dpi_awareness, monitor_scale
from rpa_vision.core.errors import CaptureError, DependencyMissingError, DisplayUnavailableError
from rpa_vision.core.geometry import Monitor
from rpa_vision.core.logging import get_logger

_log = get_logger(__name__)


def _mss_errors() -> tuple[type[BaseException], ...]:
    """What mss raises when the display is missing, gone or refuses a request.

    Its XCB backend asserts on a NULL reply when the connection died under it, so
    AssertionError belongs here too.
    """
    import mss

    return (mss.ScreenShotError, OSError, ValueError, AttributeError, AssertionError, RuntimeError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MssScreenSource(ScreenSource):
    """Grabs through mss. ``display`` picks an X display (default ``$DISPLAY``).

    mss reports no scale factor; ``scale`` sets it (one float for every monitor, or a mapping
    ``{monitor index: scale}``). Otherwise it is the monitor's DPI / 96 on Windows, 1.0 elsewhere.
    (macOS Retina grabs come back at twice the size of mss's point rectangles; that is reported
    as a size mismatch, not yet mapped.)
    """

    channels = "BGRA"
    name = "mss"

    def __init__(self, display: str | None = None, scale: float | Mapping[int, float] | None = None) -> None:
        super().__init__()
        self._display = display
        self._scale = scale
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    # --- mss instances ------------------------------------------------------------------------
    def _mss(self) -> Any:
        inst = getattr(self._local, "inst", None)
        if inst is not None:
            return inst
        ensure_dpi_awareness()
        try:
            import mss
        except ImportError as exc:  # pragma: no cover - mss is a hard dependency
            raise DependencyMissingError("mss", "pip install mss") from exc
        kwargs: dict[str, Any] = {}
        if self._display is not None:
            kwargs["display"] = self._display
        try:
            inst = mss.MSS(**kwargs)
        except _mss_errors() as exc:
            raise DisplayUnavailableError(
                f"cannot open the display for screen capture: {_first_line(exc)}", backend="mss"
            ) from exc
        self._local.inst = inst
        with self._all_lock:
            self._all.append(inst)
        return inst

    def _drop_instance(self) -> None:
        """Forget this thread's mss object after a failure so the next grab reconnects."""
        inst = getattr(self._local, "inst", None)
        self._local.inst = None
        if inst is None:
            return
        with self._all_lock:
            if inst in self._all:
                self._all.remove(inst)
        try:
            inst.close()
        except _mss_errors() as exc:  # a dead connection may fail to close; nothing else to do
            _log.debug("closing a failed mss instance: %s", exc)

    # --- hooks ----------------------------------------------------------------------------------
    def _scale_for(self, index: int, m: Mapping[str, Any]) -> float:
        if isinstance(self._scale, Mapping) and index in self._scale:
            return float(self._scale[index])
        if self._scale is not None and not isinstance(self._scale, Mapping):
            return float(self._scale)
        return monitor_scale(int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]))

    def _query_monitors(self) -> list[Monitor]:
        try:
            raw = list(self._mss().monitors)
        except (DisplayUnavailableError, CaptureError):
            raise
        except _mss_errors() as exc:
            self._drop_instance()
            raise DisplayUnavailableError(f"cannot list monitors: {_first_line(exc)}", backend="mss") from exc
        mons = []
        for i, m in enumerate(raw[1:], start=1):
            mons.append(
                Monitor(int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]),
                        self._scale_for(i, m), i, str(m.get("name", "") or m.get("output", "") or ""))
            )
        return mons

    def _grab_rect(self, rect: Monitor) -> np.ndarray:
        region = {"left": rect.left, "top": rect.top, "width": rect.width, "height": rect.height}
        try:
            shot = self._mss().grab(region)
        except (DisplayUnavailableError, CaptureError):
            raise
        except _mss_errors() as exc:
            self._drop_instance()
            raise DisplayUnavailableError(f"screen grab failed: {_first_line(exc)}", backend="mss") from exc
        w, h = shot.size
        # A view on mss's buffer (no copy); the array keeps the buffer alive.
        return np.frombuffer(shot.raw, dtype=np.uint8).reshape(h, w, 4)

    def _close(self) -> None:
        with self._all_lock:
            insts, self._all = self._all, []
        for inst in insts:
            try:
                inst.close()
            except _mss_errors() as exc:
                _log.debug("closing mss: %s", exc)
        self._local = threading.local()
