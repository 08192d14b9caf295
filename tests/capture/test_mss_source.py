"""MssScreenSource with a stand-in mss module: per-thread instances, closing, error mapping, reconnect."""

from __future__ import annotations

import sys
import threading
import types
from typing import ClassVar

import numpy as np
import pytest

from rpa_vision.capture.mss_source import MssScreenSource
from rpa_vision.core.errors import CaptureError, DisplayUnavailableError
from rpa_vision.core.geometry import Box


class ScreenShotError(Exception):
    pass


class Shot:
    def __init__(self, w: int, h: int, value: int) -> None:
        self.size = (w, h)
        self.raw = bytearray([value]) * (w * h * 4)


class FakeMSS:
    instances: ClassVar[list[FakeMSS]] = []
    fail_next: ClassVar[list[BaseException]] = []

    def __init__(self, **kw: object) -> None:
        self.kw = kw
        self.thread = threading.get_ident()
        self.closed = False
        self.grabs = 0
        FakeMSS.instances.append(self)

    @property
    def monitors(self) -> list[dict[str, object]]:
        return [
            {"left": -100, "top": 0, "width": 300, "height": 100},
            {"left": -100, "top": 0, "width": 100, "height": 100, "name": "left"},
            {"left": 0, "top": 0, "width": 200, "height": 100},
        ]

    def grab(self, region: dict[str, int]) -> Shot:
        if FakeMSS.fail_next:
            raise FakeMSS.fail_next.pop(0)
        self.grabs += 1
        return Shot(region["width"], region["height"], len(FakeMSS.instances))

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def fake_mss(monkeypatch: pytest.MonkeyPatch) -> type[FakeMSS]:
    mod = types.ModuleType("mss")
    mod.MSS = FakeMSS  # type: ignore[attr-defined]
    mod.ScreenShotError = ScreenShotError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mss", mod)
    FakeMSS.instances = []
    FakeMSS.fail_next = []
    return FakeMSS


def test_monitors_scale_and_bgra_frames(fake_mss: type[FakeMSS]) -> None:
    src = MssScreenSource(display=":7", scale={1: 2.0})
    mons = src.monitors()
    assert [m.index for m in mons] == [0, 1, 2]
    assert mons[1].scale == 2.0 and mons[2].scale == 1.0 and mons[1].name == "left"
    f = src.grab(1, Box(-90, 10, -40, 30))
    assert f.channels == "BGRA" and f.pixels.shape == (20, 50, 4)
    assert (f.monitor.left, f.monitor.top, f.monitor.scale) == (-90, 10, 2.0)
    assert fake_mss.instances[0].kw == {"display": ":7"}


def test_one_instance_per_thread_and_all_closed(fake_mss: type[FakeMSS]) -> None:
    src = MssScreenSource()
    src.grab(2)
    src.grab(2)
    t = threading.Thread(target=lambda: src.grab(2))
    t.start()
    t.join()
    assert len(fake_mss.instances) == 2
    assert len({i.thread for i in fake_mss.instances}) == 2
    src.close()
    assert all(i.closed for i in fake_mss.instances)
    with pytest.raises(CaptureError, match="closed"):
        src.grab()


@pytest.mark.parametrize("exc", [ScreenShotError("XGetImage failed"), AssertionError(), OSError("broken pipe")])
def test_grab_failures_become_display_errors_and_reconnect(fake_mss: type[FakeMSS], exc: BaseException) -> None:
    src = MssScreenSource()
    first = src.grab(2)
    fake_mss.fail_next.append(exc)
    with pytest.raises(DisplayUnavailableError) as ei:
        src.grab(2)
    assert "\n" not in str(ei.value)
    assert fake_mss.instances[0].closed  # the broken connection was dropped
    again = src.grab(2)
    assert len(fake_mss.instances) == 2  # a fresh connection
    assert not np.array_equal(first.pixels, again.pixels)


def test_cannot_open_the_display(monkeypatch: pytest.MonkeyPatch, fake_mss: type[FakeMSS]) -> None:
    def refuse(**kw: object) -> None:
        raise ScreenShotError("Cannot connect to display\nmore detail")

    monkeypatch.setattr(sys.modules["mss"], "MSS", refuse)
    with pytest.raises(DisplayUnavailableError, match="cannot open the display") as ei:
        MssScreenSource().monitors()
    assert "\n" not in str(ei.value)


def test_scale_override_per_monitor_and_platform_default(fake_mss: type[FakeMSS]) -> None:
    from rpa_vision.capture.dpi import monitor_scale

    default = monitor_scale(0, 0, 200, 100)
    if sys.platform != "win32":
        assert default == 1.0
    mons = MssScreenSource(scale={2: 1.5}).monitors()
    assert mons[2].scale == 1.5 and mons[1].scale == monitor_scale(-100, 0, 100, 100)
    assert all(m.scale == 1.25 for m in MssScreenSource(scale=1.25).monitors()[1:])
