"""Capture figures: frame key vs a full MD5, live grabs, change detection on 4K frames."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.frame import frame_key

W4K, H4K = 3840, 2160


def _screen_4k(seed: int = 0) -> np.ndarray:
    """A 4K BGRA frame that looks like a desktop: flat panels, text-like noise strips."""
    rng = np.random.default_rng(seed)
    img = np.full((H4K, W4K, 4), 236, np.uint8)
    img[:, :, 3] = 255
    for _ in range(300):
        x, y = int(rng.integers(0, W4K - 400)), int(rng.integers(0, H4K - 60))
        w, h = int(rng.integers(40, 400)), int(rng.integers(16, 60))
        img[y:y + h, x:x + w, :3] = rng.integers(0, 255, 3, dtype=np.uint8)
    strips = rng.integers(0, 255, (200, 1200, 3), dtype=np.uint8)
    img[400:600, 300:1500, :3] = strips
    return img


@bench_case("frame_key_4k", "capture")
def frame_key_4k(ctx: BenchContext) -> None:
    """Frame key (strided-grid hash) of a 4K BGRA frame vs an MD5 of the whole 33 MB buffer."""
    img = _screen_4k()
    ctx.time("md5_full_4k", lambda: hashlib.md5(img.data).hexdigest(), repeats=12, warmup=1)
    ctx.time("frame_key_4k", lambda: frame_key(img), repeats=40, warmup=2, baseline="md5_full_4k",
             target="<= 2 ms, >= 10x faster than MD5")


@bench_case("change_detection_4k", "capture")
def change_detection_4k(ctx: BenchContext) -> None:
    """dirty_rects on 4K BGRA frames: unchanged, and with a small change (a caret and a label)."""
    from rpa_vision.capture import dirty_rects

    a = _screen_4k()
    same = a.copy()
    small = a.copy()
    small[1000:1020, 2000:2002, :3] = 0  # a text caret
    small[1500:1530, 600:760, :3] = 90  # a label that changed
    ctx.time("array_equal_full_4k", lambda: np.array_equal(a, same), repeats=20, warmup=1)
    ctx.time("dirty_rects_unchanged_4k", lambda: dirty_rects(a, same), repeats=40, warmup=2,
             baseline="array_equal_full_4k", target="<= 3 ms")
    rects = dirty_rects(a, small)
    ctx.time("dirty_rects_small_change_4k", lambda: dirty_rects(a, small), repeats=40, warmup=2,
             baseline="array_equal_full_4k", target="<= 6 ms",
             extra={"rects": [list(r.as_tuple()) for r in rects]})


def _time_grabs(ctx: BenchContext, display: str | None, note: str) -> None:
    from rpa_vision.capture import create_screen_source
    from rpa_vision.core.geometry import Box

    kw: dict[str, Any] = {"display": display} if display else {}
    with create_screen_source("mss", **kw) as src:
        mon = src.monitors()[1]
        extra = {"resolution": f"{mon.width}x{mon.height}", "display": note}
        ctx.time("grab_full_monitor", lambda: src.grab(1), repeats=20, warmup=2, extra=extra,
                 target="<= 30 ms at 4K")
        region = Box(mon.left, mon.top, mon.left + min(800, mon.width), mon.top + min(600, mon.height))
        ctx.time("grab_region_800x600", lambda: src.grab(1, region), repeats=30, warmup=2, extra=extra)


@bench_case("grab", "capture")
def grab(ctx: BenchContext) -> None:
    """mss grabs of the whole monitor and of an 800x600 region, on this display or a 4K Xvfb."""
    from rpa_vision.testbed import Xvfb, XvfbUnavailable, xvfb_available

    if os.environ.get("DISPLAY") or os.name == "nt" or os.uname().sysname == "Darwin":
        _time_grabs(ctx, None, os.environ.get("DISPLAY", "native"))
        return
    if not xvfb_available():
        ctx.value("grab_skipped", 0, "flag", extra={"note": "no display and no Xvfb: grabs not measured"})
        return
    try:
        with Xvfb(W4K, H4K) as server:
            _time_grabs(ctx, server.display, f"Xvfb {server.display} (no display was set)")
    except XvfbUnavailable as exc:
        ctx.value("grab_skipped", 0, "flag", extra={"note": f"no display; Xvfb failed: {exc}"})
