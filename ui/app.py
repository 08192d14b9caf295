"""Entry point of the desktop app (``rpa-vision app``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rpa_vision.core.errors import DisplayUnavailableError


def main(argv: Sequence[str] | None = None, *, home: str | None = None) -> int:
    from ui.compat import protect_none
    from ui.platform import display_available, sanitize_qt_environment

    protect_none()
    sanitize_qt_environment()
    if not display_available():
        raise DisplayUnavailableError(
            "no display: the app needs X11/Wayland (set DISPLAY) or QT_QPA_PLATFORM=offscreen"
        )
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("RPA Vision")
    window = MainWindow(home=home)
    window.show()
    return int(app.exec())
