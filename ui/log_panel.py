"""The log panel: a ``logging.Handler`` that hands records to a view through a Qt signal.

``emit`` may run on any thread (capture, perception, replay); the signal is delivered to the view
on the GUI thread (queued), so the view is only ever touched there.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from rpa_vision.core.logging import LOGGER_NAME

LEVELS = (("Debug", logging.DEBUG), ("Info", logging.INFO), ("Warning", logging.WARNING), ("Error", logging.ERROR))


class _Bridge(QObject):
    record = Signal(str, int)


class QtLogHandler(logging.Handler):
    """A logging handler whose records arrive as ``bridge.record(text, levelno)`` on the GUI thread."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.bridge = _Bridge()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
        self._closed = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed:
            return
        try:
            text = self.format(record)
            self.bridge.record.emit(text, record.levelno)
        except RuntimeError:  # the bridge was deleted while a thread was still logging
            self._closed = True
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._closed = True
        super().close()


class LogPanel(QWidget):
    """Shows the ``rpa_vision`` log (and the app's own) with a level filter; bounded in lines."""

    MAX_LINES = 5000

    def __init__(self, parent: QWidget | None = None, logger_name: str = LOGGER_NAME) -> None:
        super().__init__(parent)
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(self.MAX_LINES)
        self.level = QComboBox(self)
        for name, lvl in LEVELS:
            self.level.addItem(name, lvl)
        self.level.setCurrentIndex(1)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.view.clear)
        top = QHBoxLayout()
        top.addWidget(QLabel("Level:", self))
        top.addWidget(self.level)
        top.addStretch(1)
        top.addWidget(self.clear_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.view)
        self.handler = QtLogHandler()
        self.handler.bridge.record.connect(self.append)
        self._logger = logging.getLogger(logger_name)
        self._logger.addHandler(self.handler)
        if self._logger.level == logging.NOTSET or self._logger.level > logging.INFO:
            self._logger.setLevel(logging.INFO)
        self.level.currentIndexChanged.connect(self._level_changed)
        logger, handler = self._logger, self.handler

        def _gone(*_: object) -> None:
            logger.removeHandler(handler)
            handler.close()

        self.destroyed.connect(_gone)

    def _level_changed(self, _index: int) -> None:
        lvl = int(self.level.currentData())
        self.handler.setLevel(lvl)
        if lvl < self._logger.getEffectiveLevel():
            self._logger.setLevel(lvl)

    @Slot(str, int)
    def append(self, text: str, levelno: int) -> None:
        fmt = QTextCharFormat()
        if levelno >= logging.ERROR:
            fmt.setForeground(QColor(200, 40, 40))
        elif levelno >= logging.WARNING:
            fmt.setForeground(QColor(190, 120, 0))
        cursor = self.view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.view.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(text, fmt)
        self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())

    def text(self) -> str:
        return self.view.toPlainText()

    def detach(self) -> None:
        """Stop receiving records (called on close; safe to call twice)."""
        self._logger.removeHandler(self.handler)
        self.handler.close()
