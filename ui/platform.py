"""Qt platform set-up that must happen before a QApplication exists.

OpenCV's GUI wheels point ``QT_QPA_PLATFORM_PLUGIN_PATH`` at their own Qt plugins, which
breaks PySide6; we ship the headless wheel, and still drop that variable when it points into
cv2 so a stray ``opencv-python`` cannot break the app.
"""

from __future__ import annotations

import os
import sys


def sanitize_qt_environment() -> None:
    path = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    if path and "cv2" in path.replace("\\", "/").split("/"):
        os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)


def display_available() -> bool:
    """Whether a GUI can be shown (or an offscreen platform was asked for)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def qt_platform_status() -> str:
    sanitize_qt_environment()
    import PySide6

    platform = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if os.environ.get("DISPLAY") else "default")
    if not display_available():
        raise RuntimeError(f"PySide6 {PySide6.__version__} installed, but no display for the app")
    return f"PySide6 {PySide6.__version__}, platform {platform}"
