"""Logging set-up for the command line and the app (the library itself only creates loggers)."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "rpa_vision"


def get_logger(name: str) -> logging.Logger:
    """A child of the ``rpa_vision`` logger (``get_logger(__name__)``)."""
    if name.startswith(LOGGER_NAME):
        return logging.getLogger(name)
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def setup_logging(verbosity: int = 0, stream: object = None) -> None:
    """Warnings by default, info with -v, debug with -vv; one line per record, on stderr."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger(LOGGER_NAME)
    root.setLevel(level)
    if not any(getattr(h, "_rpa_vision", False) for h in root.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._rpa_vision = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
