"""Synthetic GUI crops with known identity, rendered (not resized) under perturbations.

Used by tests and benchmarks that need no X server: labelled buttons and simple icons drawn
with OpenCV at a given scale factor (like a toolkit's scale factor: fonts and borders are
re-rendered, not interpolated), in a light, dark or inverted theme, with a small shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rpa_vision.core.errors import ValidationError

LABELS: tuple[str, ...] = (
    "OK", "Cancel", "Save", "Open", "File", "Edit", "View", "Help", "Apply", "Close",
    "7", "8", "9", "+", "-", "sin", "cos", "tan", "log", "ln", "Yes", "No", "Next", "Back",
)
ICONS: tuple[str, ...] = ("circle", "disc", "square", "triangle", "cross", "plus", "arrow", "gear", "lines", "check")

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)


@dataclass(frozen=True)
class Look:
    """How a crop is rendered."""

    theme: str = "light"  # light | dark | inverted | colour
    scale: float = 1.0
    shift: tuple[int, int] = (0, 0)
    font: int = 0


def _palette(theme: str) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """(background, face, ink) in BGR."""
    if theme == "dark":
        return (45, 45, 48), (70, 68, 66), (230, 230, 225)
    if theme == "colour":
        return (120, 40, 30), (190, 120, 60), (250, 250, 200)
    return (238, 238, 238), (215, 215, 215), (20, 20, 20)


def render_button(label: str, look: Look = Look()) -> np.ndarray:
    """A button with a text label (the crop is the button plus a small margin)."""
    s = look.scale
    font = _FONTS[look.font % len(_FONTS)]
    fs = 0.5 * s * (1.3 if font == cv2.FONT_HERSHEY_PLAIN else 1.0)
    th = max(1, int(round(s)))
    (tw, tht), _ = cv2.getTextSize(label, font, fs, th)
    w = max(int(round(72 * s)), tw + int(round(16 * s)))
    h = int(round(28 * s))
    bg, face, ink = _palette("light" if look.theme == "inverted" else look.theme)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    m = max(1, int(round(2 * s)))
    cv2.rectangle(img, (m, m), (w - 1 - m, h - 1 - m), face, -1)
    cv2.rectangle(img, (m, m), (w - 1 - m, h - 1 - m), ink, max(1, int(round(s))), cv2.LINE_AA)
    x = (w - tw) // 2 + look.shift[0]
    y = (h + tht) // 2 - 1 + look.shift[1]
    cv2.putText(img, label, (x, y), font, fs, ink, th, cv2.LINE_AA)
    return 255 - img if look.theme == "inverted" else img


def render_icon(kind: str, look: Look = Look()) -> np.ndarray:
    """A square icon of a simple shape."""
    s = look.scale
    n = int(round(32 * s))
    bg, _, ink = _palette("light" if look.theme == "inverted" else look.theme)
    img = np.empty((n, n, 3), np.uint8)
    img[:] = bg
    c = (n // 2 + look.shift[0], n // 2 + look.shift[1])
    r = int(round(10 * s))
    t = max(1, int(round(2 * s)))
    aa = cv2.LINE_AA
    if kind == "circle":
        cv2.circle(img, c, r, ink, t, aa)
    elif kind == "disc":
        cv2.circle(img, c, r, ink, -1, aa)
    elif kind == "square":
        cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), ink, t, aa)
    elif kind == "triangle":
        pts = np.array([[c[0], c[1] - r], [c[0] - r, c[1] + r], [c[0] + r, c[1] + r]], np.int32)
        cv2.polylines(img, [pts], True, ink, t, aa)
    elif kind == "cross":
        cv2.line(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), ink, t, aa)
        cv2.line(img, (c[0] - r, c[1] + r), (c[0] + r, c[1] - r), ink, t, aa)
    elif kind == "plus":
        cv2.line(img, (c[0] - r, c[1]), (c[0] + r, c[1]), ink, t, aa)
        cv2.line(img, (c[0], c[1] - r), (c[0], c[1] + r), ink, t, aa)
    elif kind == "arrow":
        cv2.arrowedLine(img, (c[0] - r, c[1]), (c[0] + r, c[1]), ink, t, aa, tipLength=0.4)
    elif kind == "gear":
        cv2.circle(img, c, r * 2 // 3, ink, t, aa)
        for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            p1 = (int(c[0] + np.cos(a) * r * 0.7), int(c[1] + np.sin(a) * r * 0.7))
            p2 = (int(c[0] + np.cos(a) * r * 1.1), int(c[1] + np.sin(a) * r * 1.1))
            cv2.line(img, p1, p2, ink, t, aa)
    elif kind == "lines":
        for dy in (-r // 2 - t, 0, r // 2 + t):
            cv2.line(img, (c[0] - r, c[1] + dy), (c[0] + r, c[1] + dy), ink, t, aa)
    elif kind == "check":
        cv2.polylines(img, [np.array([[c[0] - r, c[1]], [c[0] - r // 3, c[1] + r * 2 // 3],
                                      [c[0] + r, c[1] - r * 2 // 3]], np.int32)], False, ink, t, aa)
    else:
        raise ValidationError(f"unknown icon {kind!r}; valid: {', '.join(ICONS)}", field="kind")
    return 255 - img if look.theme == "inverted" else img


def gallery(look: Look = Look()) -> tuple[list[str], list[np.ndarray]]:
    """Every label and icon rendered with one look: (names, crops)."""
    names = [f"button:{t}" for t in LABELS] + [f"icon:{k}" for k in ICONS]
    crops = [render_button(t, look) for t in LABELS] + [render_icon(k, look) for k in ICONS]
    return names, crops


def top1_accuracy(reference: np.ndarray, queries: np.ndarray) -> float:
    """Share of query rows whose nearest reference row (inner product) has the same index."""
    if reference.shape[0] != queries.shape[0] or reference.shape[0] == 0:
        raise ValidationError("reference and queries must be non-empty and aligned", field="queries")
    best = np.argmax(queries @ reference.T, axis=1)
    return float(np.mean(best == np.arange(queries.shape[0])))
