"""Work-arounds for the Qt binding, applied before the first Qt call.

PySide6 6.12 returns ``None`` from void C++ methods, and ``True`` from ``Signal.emit`` and
``connect``, without taking a reference. On Python 3.12+ these objects are immortal and that is
harmless; on Python 3.11 every such call drops one reference and, a few thousand calls later,
the interpreter aborts ("deallocating None", "deallocating True or False"). ``protect_none()``
gives ``None``, ``True`` and ``False`` a reserve of references that such calls cannot exhaust.
"""

from __future__ import annotations

import ctypes
import platform
import sys

#: References added to None: at 10 million Qt calls a second this lasts for more than a day.
NONE_RESERVE = 1 << 40

_protected = False


def none_needs_protection() -> bool:
    return platform.python_implementation() == "CPython" and sys.version_info < (3, 12)


def protect_none() -> bool:
    """Give ``None``, ``True`` and ``False`` a large reserve of references (once; CPython < 3.12 only)."""
    global _protected
    if _protected or not none_needs_protection():
        return False
    # ob_refcnt is the first field of every object in a release build of CPython 3.11.
    for obj in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))
        refcnt.value += NONE_RESERVE
    _protected = True
    return True
