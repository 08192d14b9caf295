"""The PySide6 desktop app. Views subscribe to library objects; heavy work runs off the GUI thread."""

from ui.compat import protect_none

# Before any Qt call: PySide6 6.12 on Python 3.11 drops a reference to None per void call
# (see ui.compat). Touches no screen, device or file.
protect_none()
