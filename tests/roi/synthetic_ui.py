"""Drawn GUIs whose element boxes are known exactly (for unit tests of proposals)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from rpa_vision.core.geometry import Box


@dataclass
class DrawnUI:
    image: np.ndarray  # BGR
    buttons: list[Box] = field(default_factory=list)
    fields: list[Box] = field(default_factory=list)
    icons: list[Box] = field(default_factory=list)
    texts: list[Box] = field(default_factory=list)
    panels: list[Box] = field(default_factory=list)

    @property
    def clickable(self) -> list[Box]:
        return self.buttons + self.fields + self.icons


def _button(img: np.ndarray, x: int, y: int, w: int, h: int, label: str, s: float, fill: int = 250) -> Box:
    t = max(1, int(round(s)))
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (fill, fill, fill), -1)
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (110, 110, 110), t)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45 * s, t)
    cv2.putText(img, label, (x + (w - tw) // 2, y + (h + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * s,
                (20, 20, 20), t, cv2.LINE_AA)
    return Box(x, y, x + w, y + h)


def draw_ui(scale: float = 1.0, width: int = 1920, height: int = 1080, seed: int = 0) -> DrawnUI:
    """A settings-like window: a panel with a grid of labelled buttons, text fields, icons and
    free text lines. ``scale`` multiplies every size (2.0 with 3840x2160 is the same UI in 4K)."""
    rng = np.random.default_rng(seed)
    w, h = int(width), int(height)
    img = np.full((h, w, 3), 225, np.uint8)
    ui = DrawnUI(img)
    s = scale

    def S(v: float) -> int:
        return int(round(v * s))

    # panel
    px, py, pw, ph = S(100), S(80), S(900), S(700)
    cv2.rectangle(img, (px, py), (px + pw - 1, py + ph - 1), (245, 245, 245), -1)
    cv2.rectangle(img, (px, py), (px + pw - 1, py + ph - 1), (90, 90, 90), max(1, S(1)))
    ui.panels.append(Box(px, py, px + pw, py + ph))
    # buttons grid
    labels = ["OK", "Cancel", "Apply", "Help", "Open", "Save", "Close", "Print", "Undo", "Redo", "Cut", "Paste"]
    for i, lab in enumerate(labels):
        r, c = divmod(i, 4)
        bw = S(int(rng.integers(90, 140)))
        ui.buttons.append(_button(img, px + S(30) + c * S(200), py + S(40) + r * S(60), bw, S(32), lab, s))
    # text fields with a caption on their left
    for j in range(3):
        y = py + S(260) + j * S(50)
        cv2.putText(img, f"Field {j + 1}:", (px + S(30), y + S(20)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * s,
                    (30, 30, 30), max(1, S(1)), cv2.LINE_AA)
        (tw, th), base = cv2.getTextSize(f"Field {j + 1}:", cv2.FONT_HERSHEY_SIMPLEX, 0.5 * s, max(1, S(1)))
        ui.texts.append(Box(px + S(30), y + S(20) - th, px + S(30) + tw, y + S(20) + base))
        fx, fw, fh = px + S(160), S(400), S(28)
        cv2.rectangle(img, (fx, y), (fx + fw - 1, y + fh - 1), (255, 255, 255), -1)
        cv2.rectangle(img, (fx, y), (fx + fw - 1, y + fh - 1), (140, 140, 140), max(1, S(1)))
        ui.fields.append(Box(fx, y, fx + fw, y + fh))
    # icons (toolbar): filled shapes of 24 px, spaced
    for k in range(6):
        x, y, sz = S(1100) + k * S(48), S(100), S(24)
        colour = tuple(int(v) for v in rng.integers(20, 200, 3))
        if k % 2:
            cv2.circle(img, (x + sz // 2, y + sz // 2), sz // 2 - 1, colour, -1)
        else:
            cv2.rectangle(img, (x + 2, y + 2), (x + sz - 3, y + sz - 3), colour, -1)
        ui.icons.append(Box(x, y, x + sz, y + sz))
    # free text lines
    for m in range(4):
        y = S(300) + m * S(40)
        msg = f"Status line {m}: all systems nominal"
        cv2.putText(img, msg, (S(1100), y), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * s, (40, 40, 40), max(1, S(1)),
                    cv2.LINE_AA)
        (tw, th), base = cv2.getTextSize(msg, cv2.FONT_HERSHEY_SIMPLEX, 0.55 * s, max(1, S(1)))
        ui.texts.append(Box(S(1100), y - th, S(1100) + tw, y + base))
    return ui
