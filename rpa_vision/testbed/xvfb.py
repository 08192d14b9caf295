"""Start and stop an Xvfb server on a free display number."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from rpa_vision.core.errors import RpaVisionError


class XvfbUnavailable(RpaVisionError):
    """Xvfb is not installed or did not start."""


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None


def _lock_owner(num: int) -> int | None:
    """The process id written in display ``num``'s lock file (None when unreadable)."""
    try:
        return int(Path(f"/tmp/.X{num}-lock").read_text().strip())
    except (OSError, ValueError):
        return None


def _free_display(start: int = 90) -> int:
    for n in range(start, start + 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise XvfbUnavailable("no free X display number")


class Xvfb:
    """A virtual X server. Use as a context manager; ``env`` has ``DISPLAY`` set for children.

    ``with Xvfb(1920, 1080) as x: subprocess.Popen(["xcalc"], env=x.env)``. ``activate()``
    sets ``DISPLAY`` in this process too (restored on exit).
    """

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24, dpi: int = 96) -> None:
        self.width = width
        self.height = height
        self.depth = depth
        self.dpi = dpi
        self.display_num: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._old_display: str | None = None
        self._activated = False

    @property
    def display(self) -> str:
        if self.display_num is None:
            raise XvfbUnavailable("Xvfb is not running")
        return f":{self.display_num}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def start(self, timeout: float = 10.0) -> Xvfb:
        if not xvfb_available():
            raise XvfbUnavailable("Xvfb is not installed (apt-get install xvfb)")
        last_err = ""
        start = 90
        for _attempt in range(5):
            num = _free_display(start)
            start = num + 1  # a retry never takes the same number again
            proc = subprocess.Popen(
                [
                    "Xvfb", f":{num}", "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                    "-dpi", str(self.dpi), "-nolisten", "tcp", "-ac", "+extension", "RANDR",
                    "+extension", "XTEST",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    last_err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace")[-300:]
                    break
                if Path(f"/tmp/.X11-unix/X{num}").exists():
                    owner = _lock_owner(num)
                    if owner is not None and owner != proc.pid:
                        # another process started a server on this number at the same moment:
                        # ours will fail to bind; never talk to (and later lose) theirs
                        last_err = f"display :{num} was taken by process {owner}"
                        break
                    self._proc, self.display_num = proc, num
                    # The socket appears slightly before the server accepts clients.
                    if self._wait_ready(deadline) and proc.poll() is None and _lock_owner(num) in (None, proc.pid):
                        return self
                    self._proc, self.display_num = None, None
                    break
                time.sleep(0.05)
            proc.kill()
            proc.wait()
        raise XvfbUnavailable(f"Xvfb did not start: {last_err.strip() or 'timeout'}")

    def _wait_ready(self, deadline: float) -> bool:
        probe = shutil.which("xdpyinfo")
        if probe is None:
            time.sleep(0.3)
            return True
        while time.monotonic() < deadline:
            r = subprocess.run([probe], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def activate(self) -> None:
        """Point this process at the virtual display (``DISPLAY``)."""
        if not self._activated:
            self._old_display = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = self.display
            self._activated = True

    def stop(self) -> None:
        if self._activated:
            if self._old_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._old_display
            self._activated = False
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
