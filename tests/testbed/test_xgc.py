"""xgc's ground truth from its X window tree: structural ids, kinds, stable under perturbations."""

from __future__ import annotations

import shutil

import pytest

from rpa_vision.testbed.apps import _tree_paths


def test_tree_paths_follow_the_preorder_listing() -> None:
    #  root
    #  ├─ a            (0)
    #  │  ├─ a0        (0.0)
    #  │  └─ a1        (0.1)
    #  │     └─ a10    (0.1.0)
    #  └─ b            (1)
    paths, parents, children = _tree_paths([0, 1, 2, 2, 3, 1])
    assert paths == ["", "0", "0.0", "0.1", "0.1.0", "1"]
    assert parents == [None, 0, 1, 1, 3, 0]
    assert children == [2, 2, 0, 1, 0, 0]


@pytest.mark.e2e
def test_xgc_widgets_keep_their_ids_when_moved_and_refonted(xvfb: object) -> None:
    if shutil.which("xgc") is None or shutil.which("xwininfo") is None or shutil.which("xdotool") is None:
        pytest.skip("xgc/xwininfo/xdotool missing")
    from rpa_vision.testbed.apps import launch_xgc

    env = dict(xvfb.env)  # type: ignore[attr-defined]
    with launch_xgc(env, geometry="+40+30") as app:
        win_a, els_a = app.window_box(), app.elements()
    with launch_xgc(env, geometry="+300+200", font="9x15") as app:
        win_b, els_b = app.window_box(), app.elements()
    a = {e.id: e for e in els_a}
    b = {e.id: e for e in els_b}
    assert set(a) == set(b) and len(a) == len(els_a) >= 100
    kinds = [e.kind for e in els_a]
    assert kinds.count("label") >= 10 and kinds.count("panel") == 2 and kinds.count("bit") >= 16
    assert sum(e.clickable for e in els_a) >= 60 and not any(e.clickable for e in els_a if e.kind == "bit")
    assert all(win_a.contains_box(e.box) for e in els_a) and all(win_b.contains_box(e.box) for e in els_b)
    # the bigger font makes text widgets wider, but within each row of widgets the order stays
    groups: dict[str, list[str]] = {}
    for i in a:
        groups.setdefault(i.rsplit(".", 1)[0], []).append(i)
    for ids in groups.values():
        assert sorted(ids, key=lambda i: (a[i].box.y1, a[i].box.x1)) == sorted(ids, key=lambda i: (b[i].box.y1,
                                                                                                  b[i].box.x1))
    assert b["xgc/0.0.1"].box.width > a["xgc/0.0.1"].box.width  # "clear" toggle, wider font
