"""Geometry: boxes, points, monitors (negative origins, HiDPI), image transforms."""

from __future__ import annotations

import math

import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box, ImageTransform, Monitor, Point, monitor_at, virtual_desktop


def test_point_validation_and_helpers() -> None:
    p = Point(3.4, 4.6)
    assert p.as_int() == (3, 5)
    assert Point(0, 0).distance(Point(3, 4)) == 5
    for bad in (math.nan, math.inf):
        with pytest.raises(ValidationError):
            Point(bad, 0)


def test_box_construction_and_properties() -> None:
    b = Box.from_xywh(10, 20, 30, 40)
    assert b.as_tuple() == (10, 20, 40, 60)
    assert (b.width, b.height, b.area) == (30, 40, 1200)
    assert b.center == Point(25, 40)
    assert b.aspect == pytest.approx(0.75)
    assert Box(0, 0, 5, 0).aspect == 0.0
    assert Box.parse("1,2,3,4") == Box(1, 2, 3, 4)
    assert Box.from_seq([1, 2, 3, 4]) == Box(1, 2, 3, 4)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1,2,3,4,5", ""])
def test_box_parse_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValidationError):
        Box.parse(text)


def test_box_rejects_inverted_and_non_finite() -> None:
    with pytest.raises(ValidationError):
        Box(10, 0, 5, 5)
    with pytest.raises(ValidationError):
        Box(0, 10, 5, 5)
    with pytest.raises(ValidationError):
        Box(0, 0, math.inf, 5)
    with pytest.raises(ValidationError):
        Box.union_all([])


def test_box_relations() -> None:
    a, b = Box(0, 0, 10, 10), Box(5, 5, 15, 15)
    assert a.intersection(b) == Box(5, 5, 10, 10)
    assert a.iou(b) == pytest.approx(25 / 175)
    assert a.union(b) == Box(0, 0, 15, 15)
    assert a.intersection(Box(10, 0, 20, 10)) is None  # touching edges do not overlap (exclusive x2)
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert a.contains(Point(0, 0)) and not a.contains(Point(10, 5))
    assert a.contains_box(Box(1, 1, 9, 9)) and not a.contains_box(b)
    assert Box.union_all([a, b, Box(-5, 2, 0, 3)]) == Box(-5, 0, 15, 15)


def test_box_transforms() -> None:
    b = Box(10, 10, 20, 30)
    assert b.translate(-15, 5) == Box(-5, 15, 5, 35)
    assert b.scale(2) == Box(20, 20, 40, 60)
    assert b.scale(2, 0.5) == Box(20, 5, 40, 15)
    with pytest.raises(ValidationError):
        b.scale(0)
    assert b.expand(2) == Box(8, 8, 22, 32)
    shrunk = b.expand(-100)  # shrinks at most to the centre line of the short side
    assert shrunk.width == 0 and shrunk.height == 10
    assert Box(-5, -5, 50, 50).clip(40, 30) == Box(0, 0, 40, 30)
    assert Box(50, 50, 60, 60).clip(40, 30).area == 0
    assert Box(0.2, 0.7, 9.1, 9.9).as_int_tuple() == (0, 0, 10, 10)


def test_monitor_validation() -> None:
    with pytest.raises(ValidationError):
        Monitor(0, 0, 0, 100)
    with pytest.raises(ValidationError):
        Monitor(0, 0, 100, 100, scale=0.1)
    with pytest.raises(ValidationError):
        Monitor(0, 0, 100, 100, scale=math.nan)


def test_negative_origin_monitor_local_global_round_trip() -> None:
    left = Monitor(-2560, -200, 2560, 1440, 1.0, 2, "left")
    p = Point(-100, 0)
    assert left.contains(p)
    local = left.to_local(p)
    assert local == Point(2460, 200)
    assert left.to_global(local) == p
    b = Box(-2560, -200, -2500, -150)
    assert left.box_to_local(b) == Box(0, 0, 60, 50)
    assert left.box_to_global(left.box_to_local(b)) == b
    assert left.rect == Box(-2560, -200, 0, 1240)


def test_hidpi_physical_logical_round_trip() -> None:
    retina = Monitor(0, 0, 2880, 1800, 2.0, 1)
    assert retina.to_logical(Point(2880, 1800)) == Point(1440, 900)
    assert retina.to_physical(Point(1440, 900)) == Point(2880, 1800)
    win = Monitor(1920, 0, 3840, 2160, 1.5, 2)
    local = win.to_local(Point(1920 + 300, 150))
    assert win.to_logical(local) == Point(200, 100)
    assert win.to_global(win.to_physical(win.to_logical(local))) == Point(2220, 150)


def test_monitor_at_and_virtual_desktop_with_negative_origins() -> None:
    mons = [
        Monitor(0, 0, 1920, 1080, 1.0, 1),
        Monitor(-1280, -300, 1280, 1024, 1.25, 2),
        Monitor(1920, 200, 2560, 1440, 2.0, 3),
    ]
    assert monitor_at(mons, Point(-1, -1)) is mons[1]
    assert monitor_at(mons, Point(1919, 1079)) is mons[0]
    assert monitor_at(mons, Point(1920, 1079)) is mons[2]
    assert monitor_at(mons, Point(-1281, 0)) is None
    union = virtual_desktop(mons)
    assert (union.left, union.top, union.width, union.height, union.index) == (-1280, -300, 5760, 1940, 0)
    # the union (index 0) is ignored when looking up a point and when building the union
    assert monitor_at([union, *mons], Point(-1, -1)) is mons[1]
    assert virtual_desktop([union, *mons]) == union
    with pytest.raises(ValidationError):
        virtual_desktop([])


def test_image_transform_fit_and_round_trip() -> None:
    t = ImageTransform.fit(3840, 2160, 1920, 1080)
    assert (t.scale_x, t.scale_y) == (0.5, 0.5)
    assert t.size_image(3840, 2160) == (1920, 1080)
    b = Box(100, 200, 300, 400)
    assert t.to_image(b) == Box(50, 100, 150, 200)
    assert t.to_full(t.to_image(b)) == b
    assert t.point_to_full(t.point_to_image(Point(33, 77))) == Point(33, 77)
    assert ImageTransform.fit(800, 600, 1920, 1080).is_identity  # never upscales
    odd = ImageTransform.fit(5000, 1000, 1920, 1080)
    assert odd.scale_x == pytest.approx(1920 / 5000)
    assert odd.size_image(5000, 1000) == (1920, 384)
    assert ImageTransform(0.001, 0.001).size_image(10, 10) == (1, 1)
    with pytest.raises(ValidationError):
        ImageTransform(0, 1)
