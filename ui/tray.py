"""The tray icon: record, replay, stop, the current state, and notifications (never steals focus)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QStyle, QSystemTrayIcon, QWidget


class TrayController(QObject):
    record_requested = Signal()
    replay_requested = Signal()
    stop_requested = Signal()
    show_requested = Signal()

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.menu = QMenu(window)
        self.state_action = QAction("Idle", self.menu)
        self.state_action.setEnabled(False)
        self.show_action = QAction("Show RPA Vision", self.menu)
        self.record_action = QAction("Record", self.menu)
        self.replay_action = QAction("Replay selected", self.menu)
        self.stop_action = QAction("Stop", self.menu)
        for a in (self.state_action, self.show_action, self.record_action, self.replay_action, self.stop_action):
            self.menu.addAction(a)
        self.show_action.triggered.connect(self.show_requested)
        self.record_action.triggered.connect(self.record_requested)
        self.replay_action.triggered.connect(self.replay_requested)
        self.stop_action.triggered.connect(self.stop_requested)
        self.icon: QSystemTrayIcon | None = None
        self.messages: list[tuple[str, str]] = []  # every notification, also when no tray exists
        if self.available:
            icon = window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
            self.icon = QSystemTrayIcon(QIcon(icon), self)
            self.icon.setContextMenu(self.menu)
            self.icon.setToolTip("RPA Vision")
            self.icon.activated.connect(lambda _reason: self.show_requested.emit())
            self.icon.show()

    def set_state(self, text: str, *, recording: bool = False, replaying: bool = False) -> None:
        self.state_action.setText(text)
        self.record_action.setEnabled(not (recording or replaying))
        self.replay_action.setEnabled(not (recording or replaying))
        self.stop_action.setEnabled(recording or replaying)
        if self.icon is not None:
            self.icon.setToolTip(f"RPA Vision: {text}")

    def notify(self, title: str, message: str, *, error: bool = False) -> None:
        """A tray balloon (no focus change); recorded in ``messages`` for the window and tests."""
        self.messages.append((title, message))
        if self.icon is not None:
            kind = QSystemTrayIcon.MessageIcon.Critical if error else QSystemTrayIcon.MessageIcon.Information
            self.icon.showMessage(title, message, kind, 5000)

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
