"""Key names (the ``core.events`` convention) and hotkey parsing.

Names are lower-case: letters and digits as themselves, other printable characters as the
character (``+``, ``/``), and ``ctrl shift alt alt_gr cmd enter tab esc space backspace delete
up down left right home end page_up page_down insert f1..f24 caps_lock pause print_screen menu
...`` for the rest. Left/right variants of modifiers collapse (``ctrl_l`` -> ``ctrl``).
"""

from __future__ import annotations

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import MODIFIER_KEYS

#: Modifier order inside a hotkey.
MODIFIER_ORDER: tuple[str, ...] = ("ctrl", "alt", "alt_gr", "shift", "cmd")

#: Keys that produce no text: typed on their own they become KEY actions.
SPECIAL_KEYS: frozenset[str] = frozenset(
    {
        "enter", "tab", "esc", "backspace", "delete", "insert", "up", "down", "left", "right", "home", "end",
        "page_up", "page_down", "caps_lock", "num_lock", "scroll_lock", "print_screen", "pause", "menu",
        "media_play_pause", "media_volume_mute", "media_volume_down", "media_volume_up", "media_previous",
        "media_next",
    }
    | {f"f{i}" for i in range(1, 25)}
)

_ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "shift_l": "shift", "shift_r": "shift",
    "alt_l": "alt", "alt_r": "alt", "option": "alt", "opt": "alt", "altgr": "alt_gr",
    "cmd_l": "cmd", "cmd_r": "cmd", "super": "cmd", "win": "cmd", "windows": "cmd", "meta": "cmd",
    "command": "cmd",
    "return": "enter", "escape": "esc", "del": "delete", "ins": "insert", "bksp": "backspace",
    "pgup": "page_up", "pgdn": "page_down", "pageup": "page_up", "pagedown": "page_down",
    "prior": "page_up", "next": "page_down", "print": "print_screen", "prtsc": "print_screen",
    "space": "space", "spacebar": "space", " ": "space", "\n": "enter", "\r": "enter", "\t": "tab",
    "plus": "+", "minus": "-",
}


def normalize_key(name: str) -> str:
    """The canonical name of a key (``"Ctrl_L"`` -> ``"ctrl"``, ``"A"`` -> ``"a"``)."""
    if not isinstance(name, str) or name == "":
        raise ValidationError(f"a key name must be a non-empty string, got {name!r}", field="key")
    if len(name) == 1:
        return _ALIASES.get(name, name.lower())
    low = name.strip().lower().replace("-", "_")
    if low.startswith("key."):
        low = low[4:]
    return _ALIASES.get(low, low)


def is_modifier(name: str) -> bool:
    return name in MODIFIER_KEYS


def order_modifiers(mods: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(m for m in MODIFIER_ORDER if m in mods)


def parse_hotkey(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"ctrl+alt+esc"`` or ``("Control", "alt", "Escape")`` -> ``("ctrl", "alt", "esc")``
    (modifiers in canonical order, then the other keys)."""
    if isinstance(text, str):
        parts = [p for p in text.replace(" ", "").split("+")] if text != "+" else ["+"]
        if any(p == "" for p in parts):
            raise ValidationError(f"malformed hotkey {text!r}", field="hotkey")
    else:
        parts = list(text)
    if not parts:
        raise ValidationError("a hotkey needs at least one key", field="hotkey")
    keys = [normalize_key(p) for p in parts]
    mods = {k for k in keys if is_modifier(k)}
    rest = [k for k in keys if not is_modifier(k)]
    return (*order_modifiers(mods), *rest)
