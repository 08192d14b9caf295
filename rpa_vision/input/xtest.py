"""X11 keys through the XTEST extension.

pynput's X11 controller sends characters with XSendEvent to the focus window; many X clients
(Xt/Athena applications such as xcalc, xterm by default) ignore such synthetic events, and with
a PointerRoot focus they may not arrive at all. XTEST input is indistinguishable from a real
keyboard, so characters present in the keyboard map are typed that way (with shift or AltGr
held as the map requires); anything else falls back to pynput.
"""

from __future__ import annotations

from typing import Any

from rpa_vision.core.logging import get_logger

_log = get_logger(__name__)


class XTestKeys:
    """Types characters through XTEST using a pynput X11 keyboard controller's connection."""

    def __init__(self, controller: Any) -> None:
        import Xlib.X
        import Xlib.XK
        from pynput._util import xorg as pxorg

        self._ctrl = controller
        self._disp = controller._display
        self._pxorg = pxorg
        self._X = Xlib.X
        self._shift = self._disp.keysym_to_keycode(Xlib.XK.string_to_keysym("Shift_L"))
        altgr = Xlib.XK.string_to_keysym("ISO_Level3_Shift") or Xlib.XK.string_to_keysym("Mode_switch")
        self._altgr = self._disp.keysym_to_keycode(altgr) if altgr else 0

    def keycode(self, char: str) -> tuple[int, int] | None:
        """``(keycode, shift state)`` of a character in the current map, or None."""
        keysym = self._pxorg.char_to_keysym(char)
        found = self._ctrl.keyboard_mapping.get(keysym)
        if found is None:
            return None
        keycode, state = found
        return int(keycode), int(state)

    def fake(self, keycode: int, down: bool) -> None:
        import Xlib.ext.xtest

        Xlib.ext.xtest.fake_input(self._disp, self._X.KeyPress if down else self._X.KeyRelease, keycode)

    def key(self, char: str, down: bool) -> bool:
        """Press or release the key that carries ``char`` (no modifiers added). False if unmapped."""
        found = self.keycode(char.lower()) or self.keycode(char)
        if found is None:
            return False
        self.fake(found[0], down)
        self._disp.sync()
        return True

    def type_char(self, char: str) -> bool:
        """Type one character, holding shift/AltGr as needed. False if the map lacks it."""
        found = self.keycode(char)
        if found is None:
            return False
        keycode, state = found
        mods = []
        if state & 1 and self._shift:
            mods.append(self._shift)
        if state & ~1 and self._altgr:
            mods.append(self._altgr)
        for m in mods:
            self.fake(m, True)
        self.fake(keycode, True)
        self.fake(keycode, False)
        for m in reversed(mods):
            self.fake(m, False)
        self._disp.sync()
        return True
