"""Logging set-up for the command line and the app (the library itself only creates loggers)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LOGGER_NAME = "rpa_vision"


def get_logger(name: str) -> logging.Logger:
    """A child of the ``rpa_vision`` logger (``get_logger(__name__)``)."""
    if name.startswith(LOGGER_NAME):
        return logging.getLogger(name)
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is when a record is emitted, not when the handler was made
    (a redirected or replaced stderr, e.g. a test's captured one, is never written after it closed)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def flush(self) -> None:
        self.stream = sys.stderr
        super().flush()


def setup_logging(verbosity: int = 0, stream: object = None) -> None:
    """Warnings by default, info with -v, debug with -vv; one line per record, on stderr."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger(LOGGER_NAME)
    root.setLevel(level)
    if not any(getattr(h, "_rpa_vision", False) for h in root.handlers):
        handler: logging.Handler = (logging.StreamHandler(stream) if stream is not None  # type: ignore[call-overload]
                                    else _StderrHandler())
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._rpa_vision = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
