"""Ground truth from real applications under Xvfb: xcalc's button grid and the Qt test app's dump.

A click at the centre of a dumped box must reach that widget (checked through the app's event
log), at scale 1 and at QT_SCALE_FACTOR 1.5 — the boxes really are in physical screen pixels.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from rpa_vision.core.geometry import Box

pytestmark = pytest.mark.e2e


@pytest.fixture()
def env(xvfb: object) -> dict[str, str]:
    if shutil.which("xdotool") is None or shutil.which("xwininfo") is None:
        pytest.skip("xdotool/xwininfo missing")
    return dict(xvfb.env)  # type: ignore[attr-defined]


def _wait_event(log: Path, widget: str, timeout: float = 5.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    events: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        if log.exists():
            events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            if any(e.get("widget") == widget for e in events):
                return events
        time.sleep(0.1)
    return events


def test_xcalc_buttons_form_the_labelled_grid(env: dict[str, str]) -> None:
    if shutil.which("xcalc") is None:
        pytest.skip("xcalc missing")
    from rpa_vision.testbed.apps import launch_xcalc

    with launch_xcalc(env, geometry="+60+40") as app:
        win = app.window_box()
        els = app.elements()
    buttons = [e for e in els if e.kind == "button"]
    assert len(buttons) == 55
    assert all(win.contains_box(e.box) for e in els)
    by_text = {e.text: e for e in buttons}
    # the fixed layout: '7' right of 'STO', '=' bottom right, 'AC' top right
    assert by_text["7"].box.x1 > by_text["STO"].box.x2 and abs(by_text["7"].box.y1 - by_text["STO"].box.y1) < 3
    assert by_text["="].box.x1 == max(b.box.x1 for b in buttons)
    assert by_text["="].box.y1 == max(b.box.y1 for b in buttons)
    assert by_text["AC"].id == "xcalc/r0c4"
    assert len({e.id for e in els}) == len(els)
    display = [e for e in els if e.kind == "display"]
    assert len(display) == 1 and display[0].box.y2 <= min(b.box.y1 for b in buttons)


@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_testapp_boxes_are_physical_and_clickable(env: dict[str, str], tmp_path: Path, scale: float) -> None:
    from rpa_vision.testbed.apps import launch_testapp
    from rpa_vision.testbed.xdotool import XDo

    log = tmp_path / "events.jsonl"
    with launch_testapp(env, scale=scale, geometry="+100+50", log=log) as app:
        win = app.window_box()
        els = {e.id: e for e in app.elements()}
        geo = app.geometry()
        assert geo["dpr"] == pytest.approx(scale)
        assert Box.from_seq(geo["window"]) == win  # Qt's frame agrees with the X server
        assert len(els) >= 35
        assert all(win.contains_box(e.box) for e in els.values())
        for name in ("qt/btn_save", "qt/chk_confirm_shipping", "qt/chk_confirm_billing", "qt/tool_copy",
                     "qt/tool_duplicate", "qt/menu_file", "qt/tab_settings", "qt/combo_country"):
            assert name in els, name
        xdo = XDo(env)
        for widget in ("btn_save", "chk_confirm_billing"):
            c = els[f"qt/{widget}"].box.center
            xdo.click(int(c.x), int(c.y))
            events = _wait_event(log, widget)
            assert any(e["widget"] == widget for e in events), events
        # the look-alike's twin was not touched
        assert not any(e["widget"] == "chk_confirm_shipping" for e in events)


def test_start_and_wait_reports_a_program_that_exits(env: dict[str, str], tmp_path: Path) -> None:
    from rpa_vision.testbed.apps import AppLaunchError, start_and_wait

    starts = tmp_path / "starts"
    with pytest.raises(AppLaunchError, match=r"exited with code 3.*cannot open the font"):
        start_and_wait(["sh", "-c", f"echo x >> {starts}; echo cannot open the font >&2; exit 3"], "never", env,
                       timeout=5)
    assert starts.read_text().count("x") == 2  # tried again once (an X client can fail transiently)


def test_start_and_wait_starts_a_silent_program_again_then_gives_up(env: dict[str, str], tmp_path: Path) -> None:
    from rpa_vision.testbed.apps import AppLaunchError, start_and_wait

    starts = tmp_path / "starts"
    prog = ["sh", "-c", f"echo x >> {starts}; exec sleep 30"]  # never shows a window
    t0 = time.monotonic()
    with pytest.raises(AppLaunchError, match="no window 'rpa-never-shown'"):
        start_and_wait(prog, "rpa-never-shown", env, timeout=1.0, attempts=2)
    assert starts.read_text().count("x") == 2  # started twice
    assert time.monotonic() - t0 < 15  # and each one stopped, not waited for


def test_start_and_wait_finds_xcalc(env: dict[str, str]) -> None:
    if shutil.which("xcalc") is None:
        pytest.skip("xcalc missing")
    from rpa_vision.testbed.apps import start_and_wait

    title = f"rpa-start-{time.monotonic_ns()}"
    proc, wid = start_and_wait(["xcalc", "-title", title], title, env, timeout=15)
    try:
        assert wid > 0 and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=5)
