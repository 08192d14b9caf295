"""Qt platform set-up that must happen before a QApplication exists.

OpenCV's GUI wheels point ``QT_QPA_PLATFORM_PLUGIN_PATH`` at their own Qt plugins, which
breaks PySide6; we ship the headless wheel, and still drop that variable when it points into
cv2 so a stray ``opencv-python`` cannot break the app.
"""

from __future__ import annotations

import os
import socket
import sys


def sanitize_qt_environment() -> None:
    path = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    if path and "cv2" in path.replace("\\", "/").split("/"):
        os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)


GUI_SWITCH_INTERVAL_S = 0.001


def display_available() -> bool:
    """Whether a GUI can be shown (or an offscreen platform was asked for)."""
    return not display_problem()


def x_server_reachable(display: str, timeout: float = 2.0) -> bool:
    """Whether the X server that ``display`` (``[host]:N[.S]``) names accepts a connection."""
    host, sep, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not sep or not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        addresses: list[object] = ["\0" + path, path]  # Linux's abstract socket first, then the file
        family = socket.AF_UNIX
    else:
        addresses, family = [(host, 6000 + int(number))], socket.AF_INET
    for addr in addresses:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(addr)  # type: ignore[arg-type]
                return True
            except OSError:
                continue
    return False


def display_problem() -> str:
    """'' when a GUI can be shown (or an offscreen platform was asked for), else why not, in one line.

    Qt aborts the process when it cannot connect to the display, so this is checked first."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return ""
    if not sys.platform.startswith("linux"):
        return ""
    display, wayland = os.environ.get("DISPLAY", ""), os.environ.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        return "no display: the app needs X11/Wayland (set DISPLAY) or QT_QPA_PLATFORM=offscreen"
    if display and not (wayland and not platform.startswith("xcb")) and not x_server_reachable(display):
        return f"no display: the X server at DISPLAY={display} does not answer (is it running?)"
    return ""


def favour_gui_thread() -> None:
    """Capture, perception, replay and training are Python threads sharing the interpreter lock with
    the GUI thread; a shorter switch interval bounds how long the GUI thread waits for it behind
    each busy worker (5 ms by default)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GUI_SWITCH_INTERVAL_S))


def qt_platform_status() -> str:
    sanitize_qt_environment()
    import PySide6

    platform = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if os.environ.get("DISPLAY") else "default")
    problem = display_problem()
    if problem:
        raise RuntimeError(f"PySide6 {PySide6.__version__} installed, but {problem}")
    return f"PySide6 {PySide6.__version__}, platform {platform}"
