"""numpy images <-> Qt images, and drawing boxes with labels (shared by the live view and the prompt)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from rpa_vision.core.frame import validate_image
from rpa_vision.core.geometry import Box


def bgr_to_qimage(img: np.ndarray) -> QImage:
    """A QImage that owns a copy of a BGR/BGRA/grey uint8 array."""
    validate_image(img, "image")
    if img.ndim == 2 or img.shape[2] == 1:
        gray = np.ascontiguousarray(img.reshape(img.shape[0], img.shape[1]))
        h, w = gray.shape
        return QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if img.shape[2] == 4:
        rgba = np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA))
        h, w = rgba.shape[:2]
        return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def bgr_to_pixmap(img: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(bgr_to_qimage(img))


def qimage_to_bgr(image: QImage) -> np.ndarray:
    """A BGR copy of a QImage (used by tests and the screenshot script)."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return np.ascontiguousarray(arr[:, : 3 * w].reshape(h, w, 3)[:, :, ::-1])


def shrink(img: np.ndarray, max_w: int, max_h: int) -> tuple[np.ndarray, float]:
    """Downscale to fit ``max_w x max_h`` (never upscale); returns the image and its scale."""
    h, w = img.shape[:2]
    s = min(1.0, max_w / max(1, w), max_h / max(1, h))
    if s >= 1.0:
        return img, 1.0
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), s


def confidence_color(confidence: float, auto: float = 0.8, floor: float = 0.35) -> QColor:
    """Green when the replayer would act alone, amber when it would ask, red when 'not found'."""
    if confidence >= auto:
        return QColor(40, 170, 80)
    if confidence >= floor:
        return QColor(230, 150, 20)
    return QColor(210, 50, 50)


def draw_boxes(painter: QPainter, boxes: Sequence[Box], scale: float, *, labels: Sequence[str] = (),
               colors: Sequence[QColor] = (), width: float = 2.0, offset: tuple[float, float] = (0.0, 0.0)) -> None:
    """Draw boxes given in image pixels onto a view that shows the image at ``scale``."""
    ox, oy = offset
    for i, b in enumerate(boxes):
        color = colors[i] if i < len(colors) else QColor(0, 160, 255)
        painter.setPen(QPen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(ox + b.x1 * scale, oy + b.y1 * scale, max(1.0, b.width * scale), max(1.0, b.height * scale))
        painter.drawRect(rect)
        if i < len(labels) and labels[i]:
            text = labels[i]
            fm = painter.fontMetrics()
            tw, th = fm.horizontalAdvance(text) + 6, fm.height()
            ty = rect.top() - th if rect.top() - th >= oy else rect.bottom()
            painter.fillRect(QRectF(rect.left(), ty, tw, th), color)
            painter.setPen(QPen(QColor(255, 255, 255)))
            painter.drawText(QRectF(rect.left() + 3, ty, tw, th), int(Qt.AlignmentFlag.AlignVCenter), text)
