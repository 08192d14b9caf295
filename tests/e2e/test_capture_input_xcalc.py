"""Capture and input on a real application: xcalc under Xvfb.

- the mss source sees the calculator (and a region grab matches the full-screen grab);
- clicks and typing injected with xdotool come out of PynputRecorder + ActionNormalizer as
  actions at the right places;
- PynputPlayer clicks xcalc's buttons (found by their place in the grid; the button windows
  have no names) and the effect on the display is checked: "12+3=" clicked shows exactly the
  pixels of "15" typed, and "16" typed looks different.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from rpa_vision.core.events import Action, ActionKind, EventKind, InputEvent
from rpa_vision.core.geometry import Box, Point

pytestmark = pytest.mark.e2e

TIMEOUT = 15.0


@dataclass
class Calc:
    proc: subprocess.Popen[bytes]
    wid: int
    env: dict[str, str]
    window: Box
    display: Box  # the LCD panel
    grid: list[list[Box]]  # button rows, top to bottom, each left to right

    def button(self, row: int, col: int) -> Box:
        return self.grid[row][col]

    # xcalc (TI-30 layout): the last two rows are  SUM 1 2 3 +  and  EXC 0 . +/- =
    def digit(self, d: int) -> Box:
        if d == 0:
            return self.grid[-1][1]
        rows = {1: -2, 2: -2, 3: -2, 4: -3, 5: -3, 6: -3, 7: -4, 8: -4, 9: -4}
        return self.grid[rows[d]][(d - 1) % 3 + 1]

    @property
    def plus(self) -> Box:
        return self.grid[-2][4]

    @property
    def equals(self) -> Box:
        return self.grid[-1][4]

    @property
    def all_clear(self) -> Box:
        return self.grid[0][4]


def _wait(pred: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _center(b: Box) -> Point:
    c = b.center
    return Point(int(c.x), int(c.y))


@pytest.fixture()
def calc(xvfb: object) -> Iterator[Calc]:
    for tool in ("xcalc", "xdotool", "xwininfo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    from rpa_vision.testbed.xdotool import XDo, window_tree

    xvfb.activate()  # type: ignore[attr-defined]  # mss and pynput read DISPLAY
    env = xvfb.env  # type: ignore[attr-defined]
    title = f"rpa-vision-capture-input-{os.getpid()}-{time.monotonic_ns()}"  # ours, not another test's xcalc
    proc = subprocess.Popen(["xcalc", "-title", title], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        xd = XDo(env)
        wid = xd.search(title, timeout=TIMEOUT)
        xd.move_window(wid, 640, 300)
        state: dict[str, object] = {}

        def laid_out() -> bool:
            tree = window_tree(wid, env)
            win = xd.geometry(wid)
            buttons = [w.box for w in tree if w.depth == 1 and 30 <= w.box.width <= 80 and 15 <= w.box.height <= 40]
            state.update(tree=tree, win=win, buttons=buttons)
            return win.x1 >= 600 and len(buttons) >= 40

        _wait(laid_out, "xcalc to map its buttons")
        buttons: list[Box] = state["buttons"]  # type: ignore[assignment]
        rows: dict[float, list[Box]] = {}
        for b in buttons:
            rows.setdefault(b.y1, []).append(b)
        grid = [sorted(r, key=lambda b: b.x1) for _, r in sorted(rows.items())]
        assert all(len(r) == 5 for r in grid), [len(r) for r in grid]
        tree = state["tree"]
        top = min(b.y1 for b in buttons)
        panels = [w.box for w in tree if w.depth == 1 and w.box.y2 <= top and w.box.width > 100]  # type: ignore[attr-defined]
        assert panels, "no LCD panel above the buttons"
        yield Calc(proc, wid, env, state["win"], panels[0], grid)  # type: ignore[arg-type]
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _grab(src: object, box: Box) -> np.ndarray:
    return src.grab(1, box).pixels[:, :, :3].copy()  # type: ignore[attr-defined]


def _settled(src: object, box: Box, differs_from: np.ndarray | None = None) -> np.ndarray:
    """The crop once it differs from ``differs_from`` (when given) and two grabs agree."""
    state: dict[str, np.ndarray] = {}

    def ok() -> bool:
        cur = _grab(src, box)
        prev = state.get("prev")
        state["prev"] = cur
        if differs_from is not None and np.array_equal(cur, differs_from):
            return False
        return prev is not None and np.array_equal(prev, cur)

    _wait(ok, "the display to settle")
    return state["prev"]


def test_mss_capture_sees_the_calculator(calc: Calc) -> None:
    from rpa_vision.capture import create_screen_source

    with create_screen_source("mss") as src:
        mons = src.monitors()
        assert len(mons) == 2 and mons[1].size_wh == (1920, 1080)
        full = src.grab(1)
        assert full.channels == "BGRA" and full.size_wh == (1920, 1080)
        win = src.grab(1, calc.window)
        assert (win.monitor.left, win.monitor.top) == (int(calc.window.x1), int(calc.window.y1))
        x1, y1, x2, y2 = calc.window.as_int_tuple()
        assert np.array_equal(win.pixels[:, :, :3], full.pixels[y1:y2, x1:x2, :3])
        # Every button shows a dark outline and a light face.
        for row in calc.grid:
            for b in row:
                g = src.grab(1, b).gray()
                assert (g < 80).mean() > 0.05 and (g > 180).mean() > 0.3, f"button {b} does not look drawn"


def test_recorder_turns_xdotool_input_into_actions(calc: Calc) -> None:
    from rpa_vision.input import ActionNormalizer, create_input_recorder
    from rpa_vision.testbed.xdotool import XDo

    events: list[InputEvent] = []
    lock = threading.Lock()

    def on_event(ev: InputEvent) -> None:
        with lock:
            events.append(ev)

    rec = create_input_recorder("pynput")
    rec.start(on_event)
    try:
        xd = XDo(calc.env)
        one, two = _center(calc.digit(1)), _center(calc.digit(2))
        xd.click(int(one.x), int(one.y))
        xd.click(int(two.x), int(two.y))
        xd.type("34")
        xd.key("ctrl+shift+z")

        def got_all() -> bool:
            with lock:
                return any(e.kind is EventKind.KEY_UP and e.key == "z" for e in events)

        _wait(got_all, "the recorder to see the input")
    finally:
        rec.stop()
    assert not rec.is_running
    norm = ActionNormalizer()
    with lock:
        acts: list[Action] = norm.feed_all(list(events)) + norm.flush()
    assert [a.kind for a in acts] == [ActionKind.CLICK, ActionKind.CLICK, ActionKind.TYPE, ActionKind.HOTKEY]
    assert acts[0].point == one and acts[1].point == two
    assert acts[0].monitor is not None and acts[0].monitor.index == 1
    assert acts[2].text == "34"
    assert acts[2].monitor is not None and acts[2].monitor.index == 1  # where the pointer was
    assert acts[3].keys == ("ctrl", "shift", "z")


def test_player_clicks_buttons_and_the_display_shows_the_result(calc: Calc) -> None:
    from rpa_vision.capture import create_screen_source
    from rpa_vision.input import ActionNormalizer, create_input_player, create_input_recorder, perform

    player = create_input_player("pynput")
    # Our own injected input must not be recorded.
    norm = ActionNormalizer()
    recorded: list[Action] = []
    rec = create_input_recorder("pynput")
    rec.start(lambda ev: recorded.extend(norm.feed(ev)))

    def click(b: Box) -> None:
        perform(player, Action(ActionKind.CLICK, point=_center(b)))

    with create_screen_source("mss") as src:
        try:
            before = _grab(src, calc.display)
            click(calc.all_clear)
            zero = _settled(src, calc.display)
            for b in (calc.digit(1), calc.digit(2), calc.plus, calc.digit(3), calc.equals):
                click(b)
            fifteen_clicked = _settled(src, calc.display, differs_from=zero)

            click(calc.all_clear)
            _wait(lambda: np.array_equal(_grab(src, calc.display), zero), "AC to clear the display")
            player.move(_center(calc.display))  # keyboard focus follows the pointer (no window manager)
            player.type_text("15")
            fifteen_typed = _settled(src, calc.display, differs_from=zero)

            click(calc.all_clear)
            _wait(lambda: np.array_equal(_grab(src, calc.display), zero), "AC to clear the display")
            player.type_text("16")
            sixteen_typed = _settled(src, calc.display, differs_from=zero)
        finally:
            rec.stop()
            player = None  # type: ignore[assignment]  # close its X connections while the server is up
            gc.collect()
    assert before.shape == zero.shape
    assert np.array_equal(fifteen_clicked, fifteen_typed), "12+3= clicked does not show what 15 typed shows"
    assert not np.array_equal(fifteen_typed, sixteen_typed), "the display crop cannot tell 15 from 16"
    assert recorded + norm.flush() == [], "the player's own input was recorded"


def test_capture_loop_reports_what_changed_on_the_real_screen(calc: Calc) -> None:
    from rpa_vision.capture import CaptureLoop, create_screen_source
    from rpa_vision.input import create_input_player

    player = create_input_player("pynput")
    with create_screen_source("mss") as src:
        loop = CaptureLoop(src, rate_hz=20, region=calc.window)
        with loop:
            first = loop.wait_next(0, timeout=TIMEOUT)
            assert first is not None and first.frame.monitor.left == int(calc.window.x1)
            player.click(_center(calc.all_clear))
            player.click(_center(calc.digit(7)))
            lcd = calc.display.translate(-calc.window.x1, -calc.window.y1)  # frame pixels
            state: dict[str, bool] = {}

            def lcd_changed() -> bool:
                cf = loop.wait_next(first.seq, timeout=1.0)
                state["hit"] = bool(cf) and any(r.intersection(lcd) for r in cf.dirty)  # type: ignore[union-attr]
                return state["hit"]

            _wait(lcd_changed, "a dirty rectangle on the calculator's display")
        stats = loop.stats()
    player = None  # type: ignore[assignment]
    gc.collect()
    assert stats.errors == 0 and stats.frames >= 2
    assert not loop.running


def test_capture_loop_survives_the_display_going_away() -> None:
    from rpa_vision.capture import CaptureLoop, create_screen_source
    from rpa_vision.testbed import Xvfb, XvfbUnavailable, xvfb_available

    if not xvfb_available():
        pytest.skip("Xvfb is not installed")
    try:
        server = Xvfb(320, 240).start()
    except XvfbUnavailable as exc:
        pytest.skip(str(exc))
    num = server.display_num
    restarted: subprocess.Popen[bytes] | None = None
    src = create_screen_source("mss", display=server.display)
    loop = CaptureLoop(src, rate_hz=50, max_backoff_s=0.05)
    try:
        loop.start()
        first = loop.wait_next(0, timeout=TIMEOUT)
        assert first is not None and first.frame.size_wh == (320, 240)
        server.stop()  # the display disappears
        _wait(lambda: loop.stats().errors >= 2, "the loop to report grab failures")
        assert loop.running, "the capture thread died with the display"
        assert loop.stats().last_error
        if os.path.exists(f"/tmp/.X11-unix/X{num}") or os.path.exists(f"/tmp/.X{num}-lock"):
            pytest.skip("the display number was taken again before the restart")
        restarted = subprocess.Popen(
            ["Xvfb", f":{num}", "-screen", "0", "320x240x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait(lambda: loop.stats().consecutive_errors == 0, "the loop to recover on the new server")
        assert loop.stats().grabs > 1
    finally:
        loop.stop()
        src.close()
        server.stop()
        if restarted is not None:
            restarted.terminate()
            restarted.wait(5)
