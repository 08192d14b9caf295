"""A light progress/confidence bar. Unlike ``QProgressBar.setValue`` (which repaints the window
synchronously) ``set_value`` only schedules a repaint, so updates never stall the event loop."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class Meter(QWidget):
    def __init__(self, parent: QWidget | None = None, *, maximum: int = 100, fmt: str = "{percent}%") -> None:
        super().__init__(parent)
        self._value = 0
        self._maximum = max(1, maximum)
        self.fmt = fmt
        self.color = QColor(48, 140, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(200, max(18, self.fontMetrics().height() + 6))

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def set_range(self, maximum: int) -> None:
        self._maximum = max(1, int(maximum))
        self.update()

    def set_value(self, value: int) -> None:
        value = max(0, min(int(value), self._maximum))
        if value != self._value:
            self._value = value
            self.update()

    def text(self) -> str:
        pct = int(round(100.0 * self._value / self._maximum))
        return self.fmt.format(value=self._value, maximum=self._maximum, percent=pct)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
            pal = self.palette()
            p.fillRect(r, pal.base())
            p.fillRect(QRectF(r.left(), r.top(), r.width() * self._value / self._maximum, r.height()), self.color)
            p.setPen(pal.mid().color())
            p.drawRect(r)
            p.setPen(pal.text().color())
            p.drawText(r, int(Qt.AlignmentFlag.AlignCenter), self.text())
        finally:
            p.end()
