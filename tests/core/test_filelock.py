"""The lock between processes: exclusive, released on exit, a clear error on timeout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpa_vision.core.errors import StorageError
from rpa_vision.core.filelock import file_lock

HOLD = """
import sys, time
from pathlib import Path
from rpa_vision.core.filelock import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(path: Path, seconds: float) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_another_process_holding_the_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    p = _holder(lock, 30)
    try:
        with pytest.raises(StorageError, match="locked by another process"), file_lock(lock, timeout_s=0.2):
            pass
    finally:
        p.kill()
        p.wait()
    with file_lock(lock, timeout_s=5):  # a dead holder's lock is gone
        pass


def test_waits_for_the_holder_to_release(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    p = _holder(lock, 0.3)
    t0 = time.monotonic()
    with file_lock(lock, timeout_s=20):
        waited = time.monotonic() - t0
    p.wait()
    assert waited > 0.05  # it did wait for the other process


def test_unusable_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create lock file"), file_lock(blocker / "x.lock"):
        pass
