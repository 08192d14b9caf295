"""Per-monitor DPI awareness on Windows, declared once before anything reads a coordinate.

Without it Windows hands a DPI-unaware process logical (scaled) coordinates for the pointer and
a blurred, scaled copy of the screen. The first caller wins; later calls are no-ops. Elsewhere
(X11, macOS) coordinates are already physical and this does nothing.
"""

from __future__ import annotations

import sys
import threading

from rpa_vision.core.logging import get_logger

_log = get_logger(__name__)
_lock = threading.Lock()
_done = False


def ensure_dpi_awareness() -> bool:
    """Declare per-monitor DPI awareness (Windows only). Returns whether this call declared it."""
    global _done
    with _lock:
        if _done:
            return False
        _done = True
        if sys.platform != "win32":
            return False
        import ctypes

        windll = getattr(ctypes, "windll", None)
        if windll is None:
            return False
        try:
            # -4 = DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 (Windows 10 1703+)
            if windll.user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(-4)):
                return True
        except (AttributeError, OSError):
            pass
        try:
            windll.shcore.SetProcessDpiAwareness(2)  # PROCESS_PER_MONITOR_DPI_AWARE (8.1+)
            return True
        except (AttributeError, OSError):
            pass
        try:
            windll.user32.SetProcessDPIAware()
            return True
        except (AttributeError, OSError) as exc:
            _log.warning("could not declare DPI awareness: %s", exc)
            return False


def monitor_scale(left: int, top: int, width: int, height: int) -> float:
    """The scale factor (physical px per logical point) of the monitor with this rectangle.

    Windows: the monitor's effective DPI / 96 (needs DPI awareness, which mss declares too).
    Elsewhere, or when the query fails: 1.0 (pass ``scale=`` to the screen source to override).
    """
    if sys.platform != "win32":
        return 1.0
    import ctypes
    from ctypes import wintypes

    windll = getattr(ctypes, "windll", None)
    if windll is None:
        return 1.0
    try:
        pt = wintypes.POINT(left + width // 2, top + height // 2)
        hmon = windll.user32.MonitorFromPoint(pt, 2)  # MONITOR_DEFAULTTONEAREST
        dpi_x, dpi_y = ctypes.c_uint(), ctypes.c_uint()
        # 0 = MDT_EFFECTIVE_DPI; returns an HRESULT, 0 on success
        if windll.shcore.GetDpiForMonitor(hmon, 0, ctypes.byref(dpi_x), ctypes.byref(dpi_y)) != 0:
            return 1.0
        scale = dpi_x.value / 96.0
    except (AttributeError, OSError, ValueError) as exc:
        _log.debug("monitor DPI unavailable: %s", exc)
        return 1.0
    return scale if 0.25 <= scale <= 8.0 else 1.0
