"""Toolbar icons drawn with QPainter (no image files). Two of them are near-identical on purpose."""

from __future__ import annotations

from typing import Any

ICON_NAMES = ("new", "open", "save", "cut", "copy", "duplicate", "print", "find")


def make_icon(name: str, size: int = 48, ink: tuple[int, int, int] = (30, 30, 30)) -> Any:
    """A QIcon for ``name`` drawn at ``size`` pixels with outlines in ``ink`` (light on dark themes)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap, QPolygonF

    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    s = size / 48.0
    pen = QPen(QColor(*ink), max(1.0, 2.5 * s))
    p.setPen(pen)

    def rect(x: float, y: float, w: float, h: float) -> QRectF:
        return QRectF(x * s, y * s, w * s, h * s)

    if name == "new":  # a page with a folded corner
        p.setBrush(QBrush(QColor(250, 250, 250)))
        p.drawPolygon(QPolygonF([QPointF(10 * s, 4 * s), QPointF(30 * s, 4 * s), QPointF(38 * s, 12 * s),
                                 QPointF(38 * s, 44 * s), QPointF(10 * s, 44 * s)]))
        p.drawLine(QPointF(30 * s, 4 * s), QPointF(30 * s, 12 * s))
        p.drawLine(QPointF(30 * s, 12 * s), QPointF(38 * s, 12 * s))
    elif name == "open":  # a yellow folder
        p.setBrush(QBrush(QColor(240, 190, 50)))
        p.drawRect(rect(4, 14, 40, 28))
        p.drawRect(rect(4, 8, 16, 6))
    elif name == "save":  # a floppy disk
        p.setBrush(QBrush(QColor(40, 80, 180)))
        p.drawRect(rect(6, 6, 36, 36))
        p.setBrush(QBrush(QColor(230, 230, 230)))
        p.drawRect(rect(14, 6, 20, 12))
        p.drawRect(rect(12, 26, 24, 16))
    elif name == "cut":  # scissors
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(rect(6, 30, 12, 12))
        p.drawEllipse(rect(30, 30, 12, 12))
        p.drawLine(QPointF(15 * s, 31 * s), QPointF(34 * s, 4 * s))
        p.drawLine(QPointF(33 * s, 31 * s), QPointF(14 * s, 4 * s))
    elif name in ("copy", "duplicate"):  # two overlapping sheets; 'duplicate' differs by a few pixels
        off = 10 if name == "copy" else 13
        p.setBrush(QBrush(QColor(255, 255, 255)))
        p.drawRect(rect(6, 6, 24, 28))
        p.setBrush(QBrush(QColor(200, 220, 255)))
        p.drawRect(rect(6 + off, 6 + off, 24, 28))
    elif name == "print":  # a printer
        p.setBrush(QBrush(QColor(120, 120, 120)))
        p.drawRect(rect(4, 18, 40, 18))
        p.setBrush(QBrush(QColor(255, 255, 255)))
        p.drawRect(rect(12, 6, 24, 12))
        p.drawRect(rect(12, 30, 24, 14))
    elif name == "find":  # a magnifying glass
        p.setBrush(QBrush(QColor(200, 240, 255)))
        p.drawEllipse(rect(6, 6, 24, 24))
        p.setPen(QPen(QColor(*ink), 6 * s))
        p.drawLine(QPointF(27 * s, 27 * s), QPointF(42 * s, 42 * s))
    else:
        p.end()
        raise KeyError(name)
    p.end()
    return QIcon(pm)
