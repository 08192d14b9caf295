"""The screen-source boundary: one abstract base, one validating and thread-safe front-end.

A backend implements three small hooks (``_query_monitors``, ``_grab_rect``, ``_close``); the
public methods of ``ScreenSource`` own locking, validation and coordinate normalisation, so every
backend (mss, fakes, files) behaves the same way for callers.

Monitors follow mss: index 0 is the union of all monitors, 1..N the monitors themselves, in
desktop physical pixels (origins may be negative).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from rpa_vision.core.errors import CaptureError, MonitorNotFoundError, ValidationError
from rpa_vision.core.frame import Channels, Frame
from rpa_vision.core.geometry import Box, Monitor, virtual_desktop


class ScreenSource(ABC):
    """Grabs frames of the desktop. Thread-safe; use as a context manager or call ``close()``."""

    #: The channel order of the arrays ``_grab_rect`` returns.
    channels: Channels = "BGRA"
    #: A short backend name ("mss", "fake", "file").
    name: str = "screen"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._monitors: list[Monitor] | None = None
        self._closed = False

    # --- hooks for backends ---------------------------------------------------------------
    @abstractmethod
    def _query_monitors(self) -> list[Monitor]:
        """The monitors 1..N (the union, index 0, is computed by the front-end if absent)."""

    @abstractmethod
    def _grab_rect(self, rect: Monitor) -> np.ndarray:
        """Pixels of ``rect`` (desktop physical px), HxWxC in ``self.channels`` order."""

    def _close(self) -> None:  # noqa: B027 - backends without resources need nothing
        """Release backend resources."""

    # --- public front-end -------------------------------------------------------------------
    def monitors(self, *, refresh: bool = False) -> list[Monitor]:
        """``[union, monitor 1, ..., monitor N]`` (cached; ``refresh=True`` queries again)."""
        with self._lock:
            self._check_open()
            if self._monitors is None or refresh:
                self._monitors = self._normalise_monitors(self._query_monitors())
            return list(self._monitors)

    def grab(self, monitor: int = 1, region: Box | None = None) -> Frame:
        """A frame of monitor ``monitor`` (0 = all), or of ``region`` (desktop physical px) on it.

        A region partly outside the monitor is clipped to it; one entirely outside is an error.
        """
        mons = self.monitors()
        if not isinstance(monitor, int) or isinstance(monitor, bool) or not 0 <= monitor < len(mons):
            raise MonitorNotFoundError(monitor if isinstance(monitor, int) else -1, len(mons) - 1)
        mon = mons[monitor]
        rect = mon if region is None else self._region_rect(mon, region)
        with self._lock:
            self._check_open()
            try:
                pixels = self._grab_rect(rect)
            except CaptureError:
                self._monitors = None  # the display may have changed: ask again next time
                raise
        if pixels.ndim < 2 or pixels.shape[0] != rect.height or pixels.shape[1] != rect.width:
            raise CaptureError(
                f"{self.name} returned {pixels.shape[1]}x{pixels.shape[0]} pixels for a "
                f"{rect.width}x{rect.height} region", backend=self.name,
            )
        return Frame(pixels, self.channels, rect)

    def close(self) -> None:
        """Release resources (idempotent). A closed source cannot grab any more."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> ScreenSource:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- helpers ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise CaptureError(f"the {self.name} screen source is closed", backend=self.name)

    @staticmethod
    def _normalise_monitors(raw: list[Monitor]) -> list[Monitor]:
        real = [m for m in raw if m.index != 0]
        if not real:
            raise CaptureError("the display reports no monitors")
        numbered = [
            m if m.index == i else Monitor(m.left, m.top, m.width, m.height, m.scale, i, m.name)
            for i, m in enumerate(real, start=1)
        ]
        return [virtual_desktop(numbered), *numbered]

    @staticmethod
    def _region_rect(mon: Monitor, region: Box) -> Monitor:
        if not isinstance(region, Box):
            raise ValidationError(f"region must be a Box, got {type(region).__name__}", field="region")
        x1, y1, x2, y2 = region.as_int_tuple()
        inter = Box(x1, y1, x2, y2).intersection(mon.rect)
        if inter is None:
            raise ValidationError(
                f"region {region.as_tuple()} lies outside monitor {mon.index} {mon.rect.as_tuple()}",
                field="region", value=region,
            )
        ix1, iy1, ix2, iy2 = (int(v) for v in inter.as_tuple())
        return Monitor(ix1, iy1, ix2 - ix1, iy2 - iy1, mon.scale, mon.index, mon.name)
