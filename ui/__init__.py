"""The PySide6 desktop app. Views subscribe to library objects; heavy work runs off the GUI thread."""
