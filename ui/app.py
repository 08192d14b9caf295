"""Entry point of the desktop app (``rpa-vision app``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rpa_vision.core.errors import DisplayUnavailableError


def main(argv: Sequence[str] | None = None, *, home: str | None = None) -> int:
    from ui.compat import protect_none
    from ui.platform import display_problem, favour_gui_thread, sanitize_qt_environment

    protect_none()
    sanitize_qt_environment()
    problem = display_problem()
    if problem:
        raise DisplayUnavailableError(problem)
    favour_gui_thread()
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("RPA Vision")
    window = MainWindow(home=home)
    window.show()
    return int(app.exec())
