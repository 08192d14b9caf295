"""Atomic file and folder writes: a crash or a full disk never leaves a half-written file.

Files are written to a temporary sibling, flushed and fsynced, then ``os.replace``d over the
target; the previous good copy stays until the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rpa_vision.core.errors import StorageError


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (same folder temp file + fsync + rename)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}", path=target) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}", path=target) from exc
    _fsync_dir(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=False, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder in a temporary sibling and swap it in only when the block succeeds.

    The old folder (if any) is moved aside first and deleted only after the new one is in
    place; if anything fails the old folder is restored and the temporary one removed.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}", path=target) from exc
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    backup = target.with_name(f".{target.name}.old")
    try:
        if backup.exists():
            shutil.rmtree(backup)
        if target.exists():
            os.replace(target, backup)
        os.replace(tmp, target)
    except OSError as exc:
        if backup.exists() and not target.exists():
            os.replace(backup, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(f"cannot replace {target}: {exc.strerror or exc}", path=target) from exc
    _fsync_dir(target.parent)
    shutil.rmtree(backup, ignore_errors=True)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON; a missing file raises ``StorageError``, a corrupt one ``CorruptFileError``."""
    from rpa_vision.core.errors import CorruptFileError

    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise StorageError(f"{p}: no such file", path=p) from exc
    except OSError as exc:
        raise StorageError(f"cannot read {p}: {exc.strerror or exc}", path=p) from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(p, f"not valid JSON: {exc}") from exc
