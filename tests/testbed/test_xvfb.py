"""Two virtual displays started at the same moment never end up sharing one server."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rpa_vision.testbed import Xvfb, xvfb_available
from rpa_vision.testbed import xvfb as xvfb_module

pytestmark = pytest.mark.skipif(not xvfb_available() or shutil.which("xdpyinfo") is None,
                                reason="needs Xvfb and xdpyinfo")


def _alive(x: Xvfb) -> bool:
    return subprocess.run(["xdpyinfo"], env=x.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def test_a_display_number_taken_meanwhile_is_not_borrowed(monkeypatch: pytest.MonkeyPatch) -> None:
    with Xvfb(320, 240) as first:
        real = xvfb_module._free_display
        taken = first.display_num
        assert taken is not None
        calls: list[int] = []

        def racy(start: int = 90) -> int:  # as if the other server started between check and launch
            calls.append(start)
            return taken if len(calls) == 1 else real(start)

        monkeypatch.setattr(xvfb_module, "_free_display", racy)
        with Xvfb(320, 240) as second:
            assert second.display_num != taken and len(calls) >= 2
            first.stop()  # the other server goes away ...
            assert _alive(second)  # ... and ours is still there
