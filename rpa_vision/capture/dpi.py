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
