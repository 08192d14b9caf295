"""The state's window found from pixels, the layout block, and states recognised through them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpa_vision.core import Box, Frame, ValidationError
from rpa_vision.perception import Perceiver
from rpa_vision.perception.layout import LayoutConfig, layout_vector
from rpa_vision.perception.window import WindowConfig, colour_steps, find_window, window_frame


def _calculator(display: str, dark: bool = False, scale: float = 1.0, frame: int = 1) -> np.ndarray:
    """A calculator-like window (a display with a ``frame`` pixels thick border and a keypad),
    light or dark, at ``scale``."""
    s = scale
    w, h = int(240 * s), int(300 * s)
    bg, ink = ((40, 40, 40), (230, 230, 230)) if dark else ((250, 250, 250), (20, 20, 20))
    img = np.full((h, w, 3), bg, np.uint8)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), ink, max(1, int(s)))
    cv2.rectangle(img, (int(10 * s), int(10 * s)), (w - int(10 * s), int(60 * s)), ink, max(1, int(frame * s)))
    cv2.putText(img, display, (w - int(30 * s) - int(14 * s) * len(display), int(45 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                0.8 * s, ink, max(1, int(2 * s)), cv2.LINE_AA)
    labels = "789/456*123-0.=+"
    for i, lab in enumerate(labels):
        r, c = divmod(i, 4)
        x, y = int((10 + c * 56) * s), int((75 + r * 55) * s)
        cv2.rectangle(img, (x, y), (x + int(50 * s), y + int(48 * s)), ink, max(1, int(s)))
        cv2.putText(img, lab, (x + int(18 * s), y + int(32 * s)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * s, ink,
                    max(1, int(s)), cv2.LINE_AA)
    return img


def _form() -> np.ndarray:
    """Another application: a form of labelled text fields and two buttons."""
    img = np.full((260, 420, 3), 235, np.uint8)
    cv2.rectangle(img, (0, 0), (419, 259), (60, 60, 60), 1)
    for j in range(4):
        y = 20 + 45 * j
        cv2.putText(img, f"Field {j}", (12, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
        cv2.rectangle(img, (110, y), (400, y + 28), (120, 120, 120), 1)
    for x, lab in ((220, "OK"), (320, "Cancel")):
        cv2.rectangle(img, (x, 210), (x + 80, 240), (80, 80, 80), 1)
        cv2.putText(img, lab, (x + 12, 232), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    return img


def _desktop(window: np.ndarray, at: tuple[int, int], size: tuple[int, int] = (1920, 1080),
             colour: tuple[int, int, int] = (90, 60, 30)) -> tuple[np.ndarray, Box]:
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = colour
    # a smooth wallpaper gradient and a few desktop icons: structure outside the window
    img[:, :, 1] = np.clip(np.linspace(40, 110, w)[None, :] + np.zeros((h, 1)), 0, 255).astype(np.uint8)
    for k in range(4):
        cv2.rectangle(img, (20, 20 + 90 * k), (68, 68 + 90 * k), (200, 200, 220), -1)
    x, y = at
    wh, ww = window.shape[:2]
    img[y:y + wh, x:x + ww] = window
    return img, Box(x, y, x + ww, y + wh)


def _frame(img: np.ndarray) -> Frame:
    return Frame.from_array(np.ascontiguousarray(img), "BGR")


@pytest.mark.parametrize(("at", "size", "dark"), [((300, 200), (1920, 1080), False), ((1500, 700), (1920, 1080), True),
                                                  ((2000, 1200), (3840, 2160), False)])
def test_the_window_is_found_wherever_it_is(at, size, dark):
    img, truth = _desktop(_calculator("0", dark=dark), at, size)
    box = find_window(_frame(img))
    assert box is not None and box.iou(truth) > 0.95


def test_a_dialog_inside_its_window_does_not_replace_it():
    win = _calculator("0")
    big = cv2.resize(win, (600, 500), interpolation=cv2.INTER_NEAREST)
    big[150:330, 150:450] = cv2.resize(_calculator("7"), (300, 180), interpolation=cv2.INTER_AREA)  # the dialog
    img, truth = _desktop(big, (400, 200))
    box = find_window(_frame(img))
    assert box is not None and box.iou(truth) > 0.95


def test_a_frame_that_is_already_a_window_gives_none():
    """A maximised window or a screenshot of one window: its panels are not 'the window'."""
    win = cv2.resize(_calculator("0"), (960, 1200), interpolation=cv2.INTER_NEAREST)
    assert find_window(_frame(win)) is None
    blank = np.full((1080, 1920, 3), 30, np.uint8)
    assert find_window(_frame(blank)) is None
    assert find_window(Frame.from_array(np.zeros((8, 8), np.uint8), "GRAY")) is None


def test_window_frame_crops_or_keeps_the_frame():
    img, truth = _desktop(_calculator("0"), (300, 200))
    f = _frame(img)
    assert window_frame(f, None) is f
    crop = window_frame(f, truth)
    assert (crop.width, crop.height) == (int(truth.width), int(truth.height))
    np.testing.assert_array_equal(crop.pixels, img[200:500, 300:540])


def test_colour_steps_ignore_polarity():
    img = _calculator("12")
    for a, b in zip(colour_steps(img, 30), colour_steps(255 - img, 30), strict=True):
        np.testing.assert_array_equal(a, b)


def test_layout_is_theme_and_scale_invariant_and_sees_small_changes():
    grid = 32
    base = layout_vector(_frame(_calculator("0")), grid)
    assert base.shape == (grid * grid,) and abs(float(np.linalg.norm(base)) - 1) < 1e-5
    np.testing.assert_allclose(layout_vector(_frame(255 - _calculator("0")), grid), base, atol=1e-6)
    bigger = layout_vector(_frame(_calculator("0", scale=1.5)), grid)
    other = layout_vector(_frame(_calculator("19")), grid)
    assert float(base @ other) < 0.999  # a two-digit display is seen
    assert float(base @ bigger) > 0.9
    assert layout_vector(_frame(np.full((50, 50, 3), 7, np.uint8)), grid).tolist() == [0.0] * grid * grid
    with pytest.raises(ValidationError):
        layout_vector(_frame(_calculator("0")), 0)
    with pytest.raises(ValidationError):
        LayoutConfig(side=8)
    with pytest.raises(ValidationError):
        WindowConfig(quiet=0.0)


def test_states_are_recognised_when_moved_rethemed_and_on_another_screen():
    """Two states of one window that differ only by the display's text, plus another window: a
    moved, an inverted and a 4K copy of each, and a dark theme with a thicker display border, are
    recognised top-1 against the base screens."""
    from rpa_vision.embedding import create_encoder

    perceiver = Perceiver(create_encoder("builtin"))
    states = {"idle": _calculator("0"), "result": _calculator("19"), "other": _form()}
    protos = {k: perceiver.perceive(_frame(_desktop(w, (200, 150))[0])).state_vector for k, w in states.items()}
    names = list(protos)
    matrix = np.stack([protos[k] for k in names])
    for k in names:
        window = states[k]
        variants = [_desktop(window, (1300, 600))[0],
                    _desktop(255 - window, (200, 150), colour=(20, 20, 20))[0],
                    _desktop(window, (2500, 1500), (3840, 2160))[0]]
        if k != "other":  # another theme: a dark window whose display has a thick border
            variants.append(_desktop(_calculator("0" if k == "idle" else "19", dark=True, frame=4), (200, 150))[0])
        for img in variants:
            screen = perceiver.perceive(_frame(img))
            assert screen.window is not None
            assert names[int(np.argmax(matrix @ screen.state_vector))] == k
