"""The live view: the newest screen, scaled to the widget (HiDPI-sharp), with an optional ROI overlay."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from rpa_vision.core.geometry import Box
from ui.qt_images import bgr_to_qimage, draw_boxes


class LiveView(QWidget):
    resized = Signal(int, int)  # the drawing area in device pixels (previews are made this size)

    """Paints a preview image of the screen and, when ``show_regions``, the candidate UI regions.

    ``set_frame(preview, full_size_wh, regions)``: ``preview`` is a (usually downscaled) BGR copy
    of a frame whose full size is ``full_size_wh``; region boxes are in full-frame pixels. The
    image is drawn at the widget's device pixel ratio, so it stays sharp on HiDPI screens.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._buffer: np.ndarray | None = None
        self._full_wh: tuple[int, int] = (0, 0)
        self._regions: tuple[Box, ...] = ()
        self._highlight: tuple[Box, ...] = ()
        self.show_regions = False
        self.message = "No screen yet."
        self.frames_shown = 0
        self._device_wh = (0, 0)

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._emit_device_size()

    def showEvent(self, event: QShowEvent) -> None:  # the screen (and its pixel ratio) is known now
        super().showEvent(event)
        self._emit_device_size()

    def event(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DevicePixelRatioChange, QEvent.Type.ScreenChangeInternal):
            self._emit_device_size()  # moved to a screen with another scale
        return super().event(event)

    def _emit_device_size(self) -> None:
        dpr = self.devicePixelRatioF()
        wh = (int(self.width() * dpr), int(self.height() * dpr))
        if wh != self._device_wh:
            self._device_wh = wh
            self.resized.emit(*wh)

    def set_message(self, text: str) -> None:
        self.message = text
        if self._image is None:
            self.update()

    def set_frame(self, preview: np.ndarray, full_size_wh: tuple[int, int], regions: Sequence[Box] = (),
                  *, rgb: bool = False) -> None:
        """Show ``preview`` (BGR, or contiguous RGB when ``rgb``: wrapped without a copy)."""
        if rgb and preview.ndim == 3 and preview.shape[2] == 3 and preview.flags.c_contiguous:
            h, w = preview.shape[:2]
            self._buffer = preview  # the QImage points into it
            self._image = QImage(preview.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        else:
            self._image = bgr_to_qimage(preview)
        self._full_wh = (int(full_size_wh[0]), int(full_size_wh[1]))
        self._regions = tuple(regions)
        self.frames_shown += 1
        self.update()

    def set_regions(self, regions: Sequence[Box]) -> None:
        self._regions = tuple(regions)
        self.update()

    def set_highlight(self, boxes: Sequence[Box]) -> None:
        self._highlight = tuple(boxes)
        self.update()

    def set_show_regions(self, on: bool) -> None:
        self.show_regions = bool(on)
        self.update()

    @property
    def regions(self) -> tuple[Box, ...]:
        return self._regions

    def image_rect(self) -> QRectF:
        """Where the image is drawn (logical widget coordinates), keeping its aspect ratio."""
        if self._image is None or self._full_wh[0] <= 0:
            return QRectF()
        fw, fh = self._full_wh
        s = min(self.width() / fw, self.height() / fh)
        w, h = fw * s, fh * s
        return QRectF((self.width() - w) / 2.0, (self.height() - h) / 2.0, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor(30, 30, 34))
            if self._image is None:
                p.setPen(QColor(200, 200, 200))
                p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.message)
                return
            target = self.image_rect()
            dpr = self.devicePixelRatioF()
            exact = abs(target.width() * dpr - self._image.width()) <= 2  # the worker made it this size
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not exact)
            p.drawImage(target, self._image)  # Qt maps logical -> device pixels (HiDPI)
            scale = target.width() / self._full_wh[0]
            off = (target.left(), target.top())
            if self.show_regions and self._regions:
                draw_boxes(p, self._regions, scale, width=1.0, offset=off,
                           colors=[QColor(0, 200, 255, 150)] * len(self._regions))
            if self._highlight:
                draw_boxes(p, self._highlight, scale, width=2.5, offset=off,
                           colors=[QColor(255, 80, 200)] * len(self._highlight))
        finally:
            p.end()
