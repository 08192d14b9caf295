"""``create_screen_source(name, **kw)``: screen sources by name, backends imported lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rpa_vision.capture.base import ScreenSource
from rpa_vision.core.errors import UnknownNameError


def _mss(**kw: Any) -> ScreenSource:
    from rpa_vision.capture.mss_source import MssScreenSource

    return MssScreenSource(**kw)


def _fake(**kw: Any) -> ScreenSource:
    from rpa_vision.capture.fake import FakeScreenSource

    return FakeScreenSource(**kw)


def _file(**kw: Any) -> ScreenSource:
    from rpa_vision.capture.fake import FileScreenSource

    return FileScreenSource(**kw)


SCREEN_SOURCES: dict[str, Callable[..., ScreenSource]] = {"mss": _mss, "fake": _fake, "file": _file}


def create_screen_source(name: str = "mss", **kw: Any) -> ScreenSource:
    """A screen source: ``mss`` (the live screen; ``display=``, ``scale=``), ``fake``
    (``images=`` arrays or a callable) or ``file`` (``paths=`` image files)."""
    try:
        make = SCREEN_SOURCES[name]
    except KeyError:
        raise UnknownNameError("screen source", name, SCREEN_SOURCES) from None
    return make(**kw)
