"""Synthetic GUI screens with known element boxes, for the Locator's tests, benchmark and
calibration: a settings window (text fields, four identical checkboxes with different labels, a
keypad of look-alike keys, push buttons) on a cluttered desktop, rendered with perturbations a
real desktop has: moved, rescaled, dark theme, other font and colours, re-laid out, element gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.geometry import Box

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)

CHECKBOXES = ("cb_logging", "cb_autosave", "cb_hints", "cb_proxy")
_CB_LABELS = {"cb_logging": "Enable logging", "cb_autosave": "Auto save", "cb_hints": "Show hints",
              "cb_proxy": "Use proxy"}
_KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "0", ".", "=")
_BUTTONS = {"btn_help": ("Help", 20), "btn_ok": ("OK", 330), "btn_cancel": ("Cancel", 430), "btn_apply": ("Apply", 530)}

THEMES: dict[str, dict[str, tuple[int, int, int]]] = {
    "light": {"desk": (120, 90, 60), "win": (236, 236, 236), "title": (200, 160, 110), "text": (25, 25, 25),
              "face": (222, 222, 222), "border": (140, 140, 140), "field": (255, 255, 255),
              "title_text": (255, 255, 255)},
    "dark": {"desk": (40, 30, 25), "win": (46, 44, 43), "title": (70, 60, 55), "text": (225, 225, 225),
             "face": (72, 70, 68), "border": (115, 115, 115), "field": (28, 28, 28), "title_text": (230, 230, 230)},
    "blue": {"desk": (90, 110, 90), "win": (250, 244, 236), "title": (150, 80, 20), "text": (60, 20, 10),
             "face": (210, 150, 70), "border": (120, 70, 20), "field": (255, 252, 248), "title_text": (255, 255, 255)},
}


def key_name(label: str) -> str:
    return {"." : "key_dot", "=": "key_eq"}.get(label, f"key_{label}")


@dataclass(frozen=True)
class SceneSpec:
    """How to render the scene. ``origin`` is the window's top-left, ``scale`` its size factor."""

    size_wh: tuple[int, int] = (1920, 1080)
    origin: tuple[int, int] = (400, 200)
    scale: float = 1.0
    theme: str = "light"
    font: int = 0
    relayout: bool = False
    missing: tuple[str, ...] = ()
    checked: tuple[str, ...] = ("cb_hints",)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.theme not in THEMES:
            raise ValidationError(f"unknown theme {self.theme!r}", field="theme")
        if not (0.25 <= self.scale <= 4.0):
            raise ValidationError("scale must be in [0.25, 4]", field="scale")
        if not (0 <= self.font < len(FONTS)):
            raise ValidationError("font index out of range", field="font")


def _text(img: np.ndarray, s: str, org: tuple[float, float], size: float, color: tuple[int, int, int],
          font: int, scale: float) -> None:
    thick = max(1, int(round(scale * (1.0 if size < 0.6 else 1.4))))
    cv2.putText(img, s, (int(round(org[0])), int(round(org[1]))), FONTS[font], size * scale, color, thick,
                cv2.LINE_AA)


def _centered_text(img: np.ndarray, s: str, box: Box, size: float, color: tuple[int, int, int], font: int,
                   scale: float) -> None:
    thick = max(1, int(round(scale * (1.0 if size < 0.6 else 1.4))))
    (tw, th), _ = cv2.getTextSize(s, FONTS[font], size * scale, thick)
    c = box.center
    _text(img, s, (c.x - tw / 2, c.y + th / 2), size, color, font, scale)


def _clutter(img: np.ndarray, rng: np.random.Generator, pal: dict[str, tuple[int, int, int]], font: int) -> None:
    h, w = img.shape[:2]
    for i in range(8):  # desktop icons with captions
        x, y = 30, 40 + i * 110
        if y + 90 > h:
            break
        col = tuple(int(c) for c in rng.integers(60, 230, 3))
        cv2.rectangle(img, (x + 10, y), (x + 58, y + 48), col, -1)
        cv2.circle(img, (x + 34, y + 24), 12, (255 - col[0], 255 - col[1], 255 - col[2]), 2)
        _text(img, f"File {i + 1}", (x, y + 70), 0.45, (240, 240, 240), font, 1.0)
    nx, ny = w - 420, 80  # a notes window that never moves
    if nx > 0 and ny + 500 < h:
        cv2.rectangle(img, (nx, ny), (nx + 380, ny + 480), (250, 250, 250), -1)
        cv2.rectangle(img, (nx, ny), (nx + 380, ny + 26), (110, 110, 110), -1)
        _text(img, "Notes", (nx + 8, ny + 18), 0.5, (255, 255, 255), 0, 1.0)
        words = ["save", "OK", "cancel", "proxy", "logging", "7", "8", "apply", "help", "hints", "name"]
        for r in range(18):
            line = " ".join(str(rng.choice(words)) for _ in range(5))
            _text(img, line, (nx + 10, ny + 50 + r * 24), 0.45, (40, 40, 40), 0, 1.0)
        cv2.rectangle(img, (nx + 20, ny + 440), (nx + 36, ny + 456), (120, 120, 120), 1)  # a stray checkbox


def render_scene(spec: SceneSpec) -> tuple[np.ndarray, dict[str, Box]]:
    """The screen (BGR) and the box of every visible element in its pixels."""
    w, h = spec.size_wh
    pal = THEMES[spec.theme]
    rng = np.random.default_rng(spec.seed)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = pal["desk"]
    _clutter(img, rng, pal, spec.font)
    s = spec.scale
    ox, oy = spec.origin
    boxes: dict[str, Box] = {}

    def R(x1: float, y1: float, x2: float, y2: float) -> Box:
        return Box(ox + x1 * s, oy + y1 * s, ox + x2 * s, oy + y2 * s)

    def rect(b: Box, color: tuple[int, int, int], fill: bool = True, thick: int = 1) -> None:
        x1, y1, x2, y2 = (int(round(v)) for v in b.as_tuple())
        cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), color, -1 if fill else max(1, int(round(thick * s))))

    rect(R(0, 0, 660, 450), pal["win"])
    rect(R(0, 0, 660, 450), pal["border"], fill=False)
    rect(R(0, 0, 660, 28), pal["title"])
    _text(img, "Settings", (ox + 10 * s, oy + 20 * s), 0.55, pal["title_text"], spec.font, s)
    close = R(632, 4, 652, 24)
    if "close" not in spec.missing:
        rect(close, pal["face"])
        _centered_text(img, "x", close, 0.45, pal["text"], spec.font, s)
        boxes["close"] = close
    for i, (name, label) in enumerate((("field_name", "Name:"), ("field_email", "Email:"))):
        y = 48 + i * 36
        _text(img, label, (ox + 20 * s, oy + (y + 18) * s), 0.5, pal["text"], spec.font, s)
        fb = R(90, y, 300, y + 26)
        if name not in spec.missing:
            rect(fb, pal["field"])
            rect(fb, pal["border"], fill=False)
            boxes[name] = fb
    order = list(CHECKBOXES)
    if spec.relayout:
        order = order[::-1]
    for i, name in enumerate(order):
        y = 130 + i * 34
        _text(img, _CB_LABELS[name], (ox + 46 * s, oy + (y + 14) * s), 0.5, pal["text"], spec.font, s)
        if name in spec.missing:
            continue
        cb = R(20, y, 38, y + 18)
        rect(cb, pal["field"])
        rect(cb, pal["border"], fill=False)
        if name in spec.checked:
            pts = np.array([[ox + 23 * s, oy + (y + 9) * s], [ox + 28 * s, oy + (y + 14) * s],
                            [ox + 35 * s, oy + (y + 4) * s]], np.int32)
            cv2.polylines(img, [pts], False, pal["text"], max(1, int(round(2 * s))), cv2.LINE_AA)
        boxes[name] = cb.expand(2 * s)
    ky = 80 if spec.relayout else 40
    for i, label in enumerate(_KEYS):
        r, c = divmod(i, 3)
        kb = R(360 + c * 58, ky + r * 42, 410 + c * 58, ky + 34 + r * 42)
        name = key_name(label)
        if name in spec.missing:
            continue
        rect(kb, pal["face"])
        rect(kb, pal["border"], fill=False)
        _centered_text(img, label, kb, 0.6, pal["text"], spec.font, s)
        boxes[name] = kb
    by = 360 if spec.relayout else 400
    for name, (label, x) in _BUTTONS.items():
        bb = R(x, by, x + 90, by + 32)
        if name in spec.missing:
            continue
        rect(bb, pal["face"])
        rect(bb, pal["border"], fill=False)
        _centered_text(img, label, bb, 0.5, pal["text"], spec.font, s)
        boxes[name] = bb
    return img, boxes


#: The perturbations of the calibration set: name -> changes to the recorded scene.
PERTURBATIONS: dict[str, dict[str, object]] = {
    "same": {},
    "moved": {"origin": (900, 380)},
    "scale1.25": {"scale": 1.25, "origin": (300, 150)},
    "scale1.5": {"scale": 1.5, "origin": (250, 100)},
    "scale2": {"scale": 2.0, "origin": (120, 60)},
    "dark": {"theme": "dark", "origin": (500, 240)},
    "restyle": {"theme": "blue", "font": 2, "origin": (420, 260)},
    "font": {"font": 1, "origin": (380, 180)},
    "relayout": {"relayout": True, "origin": (600, 300)},
    "dark_scale1.5": {"theme": "dark", "scale": 1.5, "origin": (200, 120)},
}


def perturbed(base: SceneSpec, name: str, **extra: object) -> SceneSpec:
    """``base`` with the named perturbation (and ``extra`` fields) applied."""
    if name not in PERTURBATIONS:
        raise ValidationError(f"unknown perturbation {name!r}", field="perturbation")
    fields = {**base.__dict__, **PERTURBATIONS[name], **extra}
    return SceneSpec(**fields)
