"""Screen sources without a display: images in memory (``FakeScreenSource``) or PNG files
(``FileScreenSource``). Tests, demos and ``--screen SHOT.png`` use them.

Both hold *desktop images*: an image covers the whole virtual desktop, whose top-left pixel is
the union of the monitors' top-left corner (which may be negative). A grab crops the requested
monitor or region out of the current image. Each grab moves on to the next image (cycling).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from rpa_vision.capture.base import ScreenSource
from rpa_vision.core.errors import (
    CaptureError,
    CorruptFileError,
    DisplayUnavailableError,
    StorageError,
    ValidationError,
)
from rpa_vision.core.frame import Channels, validate_image
from rpa_vision.core.geometry import Monitor, virtual_desktop

ImageProvider = Callable[[int], np.ndarray]


class FakeScreenSource(ScreenSource):
    """Frames from numpy arrays (cycled) or from a callable ``fn(grab_number) -> image``.

    ``monitors`` (1..N) default to one monitor the size of the first image at (0, 0).
    ``fail(n)`` makes the next ``n`` grabs raise (``DisplayUnavailableError`` by default), which
    simulates a display that goes away and comes back.
    """

    name = "fake"

    def __init__(
        self,
        images: Sequence[np.ndarray] | ImageProvider,
        *,
        channels: Channels = "BGR",
        monitors: Sequence[Monitor] | None = None,
        fail_times: int = 0,
        cycle: bool = True,
    ) -> None:
        super().__init__()
        self.channels = channels
        self._provider: ImageProvider | None = None
        self._images: list[np.ndarray] = []
        if callable(images):
            self._provider = images
        else:
            self._images = [validate_image(im, "fake screen image") for im in images]
            if not self._images:
                raise ValidationError("a fake screen source needs at least one image", field="images")
        self._given_monitors = list(monitors) if monitors is not None else None
        self._cycle = cycle
        self._count = 0
        self._fail_left = int(fail_times)
        self._fail_error: type[CaptureError] = DisplayUnavailableError
        self._state = threading.Lock()
        self.grabs = 0  # successful grabs

    # --- control -------------------------------------------------------------------------------
    def fail(self, times: int, error: type[CaptureError] = DisplayUnavailableError) -> None:
        """Make the next ``times`` grabs raise ``error``."""
        with self._state:
            self._fail_left = int(times)
            self._fail_error = error

    def set_images(self, images: Sequence[np.ndarray]) -> None:
        """Replace the images (the next grab shows the first)."""
        imgs = [validate_image(im, "fake screen image") for im in images]
        if not imgs:
            raise ValidationError("a fake screen source needs at least one image", field="images")
        with self._state:
            self._images, self._provider, self._count = imgs, None, 0

    # --- hooks ------------------------------------------------------------------------------------
    def _desktop_image(self, number: int) -> np.ndarray:
        if self._provider is not None:
            return validate_image(self._provider(number), "fake screen image")
        i = number % len(self._images) if self._cycle else min(number, len(self._images) - 1)
        return self._images[i]

    def _query_monitors(self) -> list[Monitor]:
        if self._given_monitors is not None:
            return list(self._given_monitors)
        first = self._desktop_image(0)
        return [Monitor(0, 0, int(first.shape[1]), int(first.shape[0]), 1.0, 1, "fake")]

    def _grab_rect(self, rect: Monitor) -> np.ndarray:
        with self._state:
            if self._fail_left > 0:
                self._fail_left -= 1
                raise self._fail_error("the fake display is unavailable (simulated failure)", backend="fake")
            number = self._count
            self._count += 1
        img = self._desktop_image(number)
        origin = virtual_desktop(self.monitors()[1:])
        x1, y1 = rect.left - origin.left, rect.top - origin.top
        h, w = img.shape[:2]
        if x1 < 0 or y1 < 0 or x1 + rect.width > w or y1 + rect.height > h:
            raise CaptureError(
                f"the fake desktop image is {w}x{h}, too small for region "
                f"{rect.left},{rect.top} {rect.width}x{rect.height}", backend="fake",
            )
        self.grabs += 1
        return img[y1:y1 + rect.height, x1:x1 + rect.width]


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR uint8; a missing or undecodable file is a clear error."""
    p = Path(path)
    try:
        data = np.fromfile(str(p), dtype=np.uint8)  # works with any path on any platform
    except FileNotFoundError as exc:
        raise StorageError(f"{p}: no such file", path=p) from exc
    except OSError as exc:
        raise StorageError(f"cannot read {p}: {exc.strerror or exc}", path=p) from exc
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise CorruptFileError(p, "not a readable image (PNG, JPEG, BMP ...)")
    return img


class FileScreenSource(FakeScreenSource):
    """Frames from image files (cycled). Files are read at the first grab, not at construction."""

    name = "file"

    def __init__(self, paths: Sequence[str | Path] | str | Path, *, monitors: Sequence[Monitor] | None = None,
                 cycle: bool = True) -> None:
        plist = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not plist:
            raise ValidationError("a file screen source needs at least one image path", field="paths")
        self.paths = [Path(p) for p in plist]
        self._loaded: dict[int, np.ndarray] = {}
        super().__init__(self._load, channels="BGR", monitors=monitors, cycle=cycle)

    def _load(self, number: int) -> np.ndarray:
        i = number % len(self.paths) if self._cycle else min(number, len(self.paths) - 1)
        if i not in self._loaded:
            self._loaded[i] = read_image(self.paths[i])
        return self._loaded[i]
