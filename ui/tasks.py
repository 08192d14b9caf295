"""Run a function on a thread and get its result (or its error) back on the GUI thread."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.logging import get_logger

log = get_logger("ui.tasks")


BACKGROUND_NICE = 10  # how much less CPU priority worker threads get than the GUI thread


def background_priority() -> None:
    """Lower the CPU priority of the calling (worker) thread, so that on a busy machine the GUI
    thread wins the CPU over capture, perception, replay and training; threads this one starts
    inherit it. Linux only (a thread is a task there); elsewhere nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
    except OSError as exc:  # a sandbox may forbid it: the work still runs
        log.debug("cannot lower the priority of %s: %s", threading.current_thread().name, exc)


def _done() -> None:
    return None


class BackgroundTask(QObject):
    """``BackgroundTask(fn).start()``: ``done(result)`` or ``failed(message)`` arrive on the GUI thread.

    Expected failures (``RpaVisionError``, ``OSError``) become one-line messages; anything else is
    logged with its traceback and reported too, so nothing fails silently.
    """

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.name = name
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundTask:
        self._thread = threading.Thread(target=self._run, name=f"rpa-vision-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        # the function is dropped once called: a closure must not keep objects alive (or in a
        # reference cycle that the garbage collector might then free on this thread)
        fn, self._fn = self._fn, _done
        background_priority()
        try:
            result = fn()
        except (RpaVisionError, OSError) as exc:
            self._emit(self.failed, str(exc))
        except Exception as exc:
            log.exception("%s failed", self.name)
            self._emit(self.failed, f"{self.name} failed: {type(exc).__name__}: {exc}")
        else:
            self._emit(self.done, result)

    def _emit(self, signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the owner (a window) was closed meanwhile: nobody waits for the result
            log.debug("%s finished after its owner was deleted", self.name)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True


def run_in_background(parent: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[str], None] | None = None, name: str = "task") -> BackgroundTask:
    """Start ``fn`` on a thread; ``on_done``/``on_error`` should be slots (bound methods) of ``parent``
    or of another QObject, so that they run on the GUI thread. The task is owned by ``parent``."""
    task = BackgroundTask(fn, name, parent)
    if on_done is not None:
        task.done.connect(on_done)
    if on_error is not None:
        task.failed.connect(on_error)
    task.done.connect(task.deleteLater)
    task.failed.connect(task.deleteLater)
    return task.start()
