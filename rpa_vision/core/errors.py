"""The typed error hierarchy. Every error carries the data that explains it.

The command line prints ``str(error)`` as one line and exits non-zero; nothing below
``RpaVisionError`` should ever reach the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


class RpaVisionError(Exception):
    """Base of every error the library raises on purpose.

    ``exit_code`` is what the command line exits with when this error ends a command.
    """

    exit_code: int = 2

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data: dict[str, Any] = data

    def __str__(self) -> str:
        return self.message


class ValidationError(RpaVisionError, ValueError):
    """A value handed to the library is malformed (wrong shape, range, type)."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message, field=field, value=value)
        self.field = field
        self.value = value


class UnknownNameError(RpaVisionError, KeyError):
    """A backend, encoder or other registered name does not exist; lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = tuple(sorted(valid))
        super().__init__(
            f"unknown {kind} {name!r}; valid: {', '.join(self.valid) or '(none)'}",
            kind=kind,
            name=name,
            valid=self.valid,
        )

    def __str__(self) -> str:  # KeyError would add quotes
        return self.message


class DependencyMissingError(RpaVisionError):
    """An optional dependency is not installed; the message says how to get it."""

    def __init__(self, package: str, hint: str) -> None:
        super().__init__(f"{package} is not available: {hint}", package=package, hint=hint)
        self.package = package
        self.hint = hint


# --- capture and display -------------------------------------------------------------------


class CaptureError(RpaVisionError):
    """Grabbing the screen failed."""


class DisplayUnavailableError(CaptureError):
    """There is no display to capture from or to send input to (or it went away)."""


class MonitorNotFoundError(CaptureError):
    def __init__(self, index: int, count: int) -> None:
        super().__init__(
            f"monitor {index} does not exist; this display has {count} monitor(s) (0 = all, 1..{count})",
            index=index,
            count=count,
        )
        self.index = index
        self.count = count


# --- input ---------------------------------------------------------------------------------


class InputBackendError(RpaVisionError):
    """Listening to or controlling the mouse and keyboard failed."""


class FailSafeTriggered(RpaVisionError):
    """The user pressed the abort hotkey or slammed the pointer into a screen corner."""

    exit_code = 3

    def __init__(self, reason: str) -> None:
        super().__init__(f"fail-safe: playback aborted ({reason})", reason=reason)
        self.reason = reason


# --- files and storage ---------------------------------------------------------------------


class StorageError(RpaVisionError):
    """Reading or writing a file failed (permissions, full disk, ...)."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message, path=str(path) if path is not None else None)
        self.path = path


class CorruptFileError(StorageError):
    """A file exists but cannot be parsed or fails validation."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: corrupt or foreign file ({reason})", path=path)
        self.reason = reason


class SchemaVersionError(StorageError):
    """A file was written by another (usually newer) schema version."""

    def __init__(self, path: Path | str, found: object, supported: object) -> None:
        super().__init__(
            f"{path}: schema version {found!r} is not supported (this version reads {supported!r})",
            path=path,
        )
        self.found = found
        self.supported = supported


# --- perception, index, workflows ------------------------------------------------------------


class EncoderError(RpaVisionError):
    """An encoder could not be created or failed to embed."""


class WeightsUnavailableError(EncoderError):
    """Model weights are neither in a local file, nor in the cache, nor downloadable."""


class IndexError_(RpaVisionError):
    """The prototype index was used wrongly or its files are inconsistent."""


class ProvenanceMismatchError(IndexError_):
    """An index or adapter was built with another encoder, weights or dimension."""


class WorkflowError(RpaVisionError):
    """A workflow is malformed, missing or cannot be saved."""


class WorkflowNotFoundError(WorkflowError):
    def __init__(self, name: str, home: Path | str) -> None:
        super().__init__(f"no workflow named {name!r} in {home}", name=name, home=str(home))
        self.name = name


class ReplayAborted(RpaVisionError):
    """A replay stopped before its end (by policy, by the user or by the fail-safe)."""

    exit_code = 1
