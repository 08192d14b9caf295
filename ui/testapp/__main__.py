"""``python -m ui.testapp``: the Qt test application."""

from __future__ import annotations

import sys

from ui.testapp.app import main

if __name__ == "__main__":
    sys.exit(main())
