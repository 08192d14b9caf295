"""Screen sources: the validating front-end, the fakes, the file source and the factory."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpa_vision.capture import (
    FakeScreenSource,
    FileScreenSource,
    ScreenSource,
    create_screen_source,
)
from rpa_vision.core.errors import (
    CaptureError,
    CorruptFileError,
    DisplayUnavailableError,
    MonitorNotFoundError,
    StorageError,
    UnknownNameError,
    ValidationError,
)
from rpa_vision.core.geometry import Box, Monitor


def desktop(w: int = 300, h: int = 200) -> np.ndarray:
    """A desktop image whose pixel value encodes its position (so crops can be checked)."""
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = xs % 256
    img[:, :, 1] = ys % 256
    img[:, :, 2] = (xs // 256) * 16 + (ys // 256)
    return img


def test_monitors_follow_mss_convention_union_first() -> None:
    mons = [Monitor(-100, 0, 100, 80, 2.0, 1, "left"), Monitor(0, 0, 200, 200, 1.0, 2, "main")]
    src = FakeScreenSource([desktop()], monitors=mons)
    got = src.monitors()
    assert [m.index for m in got] == [0, 1, 2]
    assert got[0].rect.as_tuple() == (-100, 0, 200, 200)
    assert got[1].scale == 2.0 and got[1].name == "left"


def test_grab_crops_the_right_monitor_with_negative_origin() -> None:
    img = desktop(300, 200)
    mons = [Monitor(-100, 0, 100, 80, 2.0, 1), Monitor(0, 0, 200, 200, 1.0, 2)]
    src = FakeScreenSource([img], monitors=mons)
    f1 = src.grab(1)
    assert f1.size_wh == (100, 80)
    assert f1.monitor.left == -100 and f1.monitor.scale == 2.0
    # desktop x=-100 is image column 0
    assert np.array_equal(f1.pixels, img[0:80, 0:100])
    f2 = src.grab(2)
    assert np.array_equal(f2.pixels, img[0:200, 100:300])
    assert f2.channels == "BGR"


def test_region_is_in_desktop_pixels_and_clipped_to_the_monitor() -> None:
    img = desktop(300, 200)
    mons = [Monitor(-100, 0, 100, 80, 1.0, 1), Monitor(0, 0, 200, 200, 1.0, 2)]
    src = FakeScreenSource([img], monitors=mons)
    f = src.grab(2, Box(10, 20, 40, 30))
    assert (f.monitor.left, f.monitor.top, f.width, f.height) == (10, 20, 30, 10)
    assert np.array_equal(f.pixels, img[20:30, 110:140])
    clipped = src.grab(2, Box(190, 190, 250, 260))
    assert clipped.size_wh == (10, 10)
    with pytest.raises(ValidationError, match="outside"):
        src.grab(2, Box(500, 500, 510, 510))
    with pytest.raises(ValidationError):
        src.grab(1, (0, 0, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [-1, 2, 9])
def test_missing_monitor_is_a_clear_error(index: int) -> None:
    src = FakeScreenSource([desktop()])
    with pytest.raises(MonitorNotFoundError) as ei:
        src.grab(index)
    assert ei.value.count == 1
    assert "1 monitor" in str(ei.value)


def test_union_monitor_zero_grabs_everything() -> None:
    img = desktop(300, 200)
    src = FakeScreenSource([img], monitors=[Monitor(0, 0, 150, 200, 1.0, 1), Monitor(150, 0, 150, 200, 1.0, 2)])
    f = src.grab(0)
    assert f.size_wh == (300, 200) and np.array_equal(f.pixels, img)


def test_images_cycle_and_callable_provider() -> None:
    a, b = np.zeros((10, 10, 3), np.uint8), np.full((10, 10, 3), 9, np.uint8)
    src = FakeScreenSource([a, b])
    vals = [int(src.grab().pixels[0, 0, 0]) for _ in range(4)]
    assert vals == [0, 9, 0, 9]
    calls: list[int] = []

    def provide(n: int) -> np.ndarray:
        calls.append(n)
        return np.full((5, 6, 3), n % 250, np.uint8)

    src2 = FakeScreenSource(provide)
    assert src2.grab().size_wh == (6, 5)
    assert int(src2.grab().pixels[0, 0, 0]) == 1


def test_fail_n_times_then_recover() -> None:
    src = FakeScreenSource([desktop()], fail_times=2)
    for _ in range(2):
        with pytest.raises(DisplayUnavailableError):
            src.grab()
    assert src.grab().width == 300
    src.fail(1, CaptureError)
    with pytest.raises(CaptureError):
        src.grab()
    assert src.grabs == 1


def test_closed_source_refuses_and_close_is_idempotent() -> None:
    with FakeScreenSource([desktop()]) as src:
        src.grab()
    assert src.closed
    src.close()
    with pytest.raises(CaptureError, match="closed"):
        src.grab()


def test_backend_returning_a_wrong_size_is_caught() -> None:
    class Broken(ScreenSource):
        channels = "BGR"

        def _query_monitors(self) -> list[Monitor]:
            return [Monitor(0, 0, 20, 10)]

        def _grab_rect(self, rect: Monitor) -> np.ndarray:
            return np.zeros((5, 5, 3), np.uint8)

    with pytest.raises(CaptureError, match="5x5"):
        Broken().grab()


def test_grabs_from_many_threads_are_consistent() -> None:
    img = desktop(64, 64)
    src = FakeScreenSource([img])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):
                f = src.grab(1, Box(8, 8, 24, 24))
                if not np.array_equal(f.pixels, img[8:24, 8:24]):
                    raise AssertionError("wrong pixels")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert src.grabs == 200


def test_file_source_reads_pngs_lazily_and_reports_bad_files(tmp_path: Path) -> None:
    img = desktop(40, 30)
    good = tmp_path / "shot.png"
    cv2.imwrite(str(good), img)
    src = FileScreenSource([good])
    f = src.grab()
    assert f.channels == "BGR" and np.array_equal(f.pixels, img)

    missing = FileScreenSource(tmp_path / "nope.png")  # construction touches no file
    with pytest.raises(StorageError, match="no such file"):
        missing.grab()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(CorruptFileError):
        FileScreenSource(bad).grab()
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFileError):
        FileScreenSource(empty).grab()


def test_factory_names_and_unknown_name(tmp_path: Path) -> None:
    src = create_screen_source("fake", images=[desktop()])
    assert isinstance(src, FakeScreenSource) and src.grab().width == 300
    p = tmp_path / "a.png"
    cv2.imwrite(str(p), desktop(10, 10))
    assert create_screen_source("file", paths=[p]).grab().width == 10
    with pytest.raises(UnknownNameError) as ei:
        create_screen_source("vnc")
    assert "fake, file, mss" in str(ei.value)


def test_mss_without_a_display_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    import sys

    if sys.platform != "linux":
        pytest.skip("X11 only")
    src = create_screen_source("mss")
    with pytest.raises(DisplayUnavailableError) as ei:
        src.grab()
    assert "\n" not in str(ei.value)
    src.close()


def test_mss_on_a_bad_display_name_is_one_clear_error() -> None:
    import sys

    if sys.platform != "linux":
        pytest.skip("X11 only")
    src = create_screen_source("mss", display=":4999")
    with pytest.raises(DisplayUnavailableError, match="display"):
        src.monitors()


def test_monitors_are_asked_again_after_a_failed_grab() -> None:
    class Counting(FakeScreenSource):
        queries = 0

        def _query_monitors(self) -> list[Monitor]:
            type(self).queries += 1
            return super()._query_monitors()

    src = Counting([desktop()])
    src.grab()
    src.grab()
    assert Counting.queries == 1  # cached
    src.fail(1)
    with pytest.raises(DisplayUnavailableError):
        src.grab()
    src.grab()
    assert Counting.queries == 2
