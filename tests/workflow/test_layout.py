from __future__ import annotations

from rpa_vision.core.geometry import Box
from rpa_vision.workflow.layout import LayoutModel


def test_needs_two_consistent_pairs() -> None:
    m = LayoutModel()
    assert m.predict(Box(0, 0, 10, 10)) is None
    m.add(Box(0, 0, 40, 20), Box(100, 50, 140, 70))
    assert m.predict(Box(50, 0, 90, 20)) is None


def test_moved_and_scaled_grid_is_predicted() -> None:
    m = LayoutModel()
    # a grid scaled 1.5x and moved by (200, 100)
    for x, y in ((0, 0), (100, 200)):
        r = Box(x, y, x + 40, y + 20)
        m.add(r, Box(200 + 1.5 * r.x1, 100 + 1.5 * r.y1, 200 + 1.5 * r.x2, 100 + 1.5 * r.y2))
    pred = m.predict(Box(100, 0, 140, 20))
    assert pred is not None
    p, tol = pred
    assert abs(p.x - (200 + 1.5 * 120)) < 1 and abs(p.y - (100 + 1.5 * 10)) < 1
    assert 12 <= tol < 60  # a neighbouring button (60 px away) is outside the tolerance


def test_inconsistent_pairs_predict_nothing() -> None:
    m = LayoutModel()
    m.add(Box(0, 0, 40, 20), Box(0, 0, 40, 20))
    m.add(Box(100, 0, 140, 20), Box(600, 0, 640, 20))
    m.add(Box(200, 0, 240, 20), Box(210, 0, 250, 20))
    assert m.predict(Box(300, 0, 340, 20)) is None
