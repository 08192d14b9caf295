"""Marks the moments when this process injects input, so its own listeners can ignore it.

Some backends (X11 XTEST) do not flag synthetic events; the player wraps each injection in
``injecting()`` and the recorder marks events that arrive meanwhile (or within ``GRACE_S``
after) as injected.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

GRACE_S = 0.05

_lock = threading.Lock()
_active = 0
_last_end = float("-inf")


@contextlib.contextmanager
def injecting() -> Iterator[None]:
    global _active, _last_end
    with _lock:
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            _last_end = time.monotonic()


def injection_active(now: float | None = None, grace_s: float = GRACE_S) -> bool:
    """Whether this process is injecting input now (or stopped less than ``grace_s`` ago)."""
    t = time.monotonic() if now is None else now
    with _lock:
        return _active > 0 or t - _last_end <= grace_s
