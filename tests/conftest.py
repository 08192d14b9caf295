"""Shared fixtures. Unit tests run offscreen with fakes; e2e tests start their own Xvfb."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh RPA_VISION_HOME for the test."""
    h = tmp_path / "home"
    monkeypatch.setenv("RPA_VISION_HOME", str(h))
    return h


@pytest.fixture(scope="session")
def xvfb() -> Iterator[object]:
    """A 1920x1080 virtual X display for the whole session (skips when Xvfb is missing)."""
    from rpa_vision.testbed import Xvfb, XvfbUnavailable, xvfb_available

    if not xvfb_available():
        pytest.skip("Xvfb is not installed (make test installs it when run as root)")
    server = Xvfb(1920, 1080)
    try:
        server.start()
    except XvfbUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
