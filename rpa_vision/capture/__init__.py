"""Screen capture: sources (mss, fake, files), change detection and the capture loop.

Importing this package touches no display; ``create_screen_source("mss")`` connects lazily.
"""

from rpa_vision.capture.base import ScreenSource
from rpa_vision.capture.change import dirty_rects, dirty_tiles, frames_equal
from rpa_vision.capture.dpi import ensure_dpi_awareness
from rpa_vision.capture.factory import SCREEN_SOURCES, create_screen_source
from rpa_vision.capture.fake import FakeScreenSource, FileScreenSource, read_image
from rpa_vision.capture.loop import CapturedFrame, CaptureLoop, CaptureStats

__all__ = [
    "SCREEN_SOURCES",
    "CaptureLoop",
    "CaptureStats",
    "CapturedFrame",
    "FakeScreenSource",
    "FileScreenSource",
    "ScreenSource",
    "create_screen_source",
    "dirty_rects",
    "dirty_tiles",
    "ensure_dpi_awareness",
    "frames_equal",
    "read_image",
]
