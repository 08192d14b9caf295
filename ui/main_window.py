"""The main window (grows with the app issue: live view, library, replay, stats, settings)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from rpa_vision import __version__


class MainWindow(QMainWindow):
    def __init__(self, home: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"RPA Vision {__version__}")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.status_label = QLabel("RPA Vision is ready.", central)
        layout.addWidget(self.status_label)
        self.setCentralWidget(central)
        self.resize(960, 640)
