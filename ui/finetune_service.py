"""The library's ``FineTuner`` inside the app: built off the GUI thread, fed by every replay's answers,
training in its own background thread, its status delivered as Qt signals.

The answers a person gives in the self-healing prompt (confirm, pick another) and the healed steps
reach the tuner through ``TunerFeedback``, the replayer's feedback sink; ``FineTuner.add_example``
starts a background run once enough new examples arrived. "Train now" and rollback are buttons in
``FineTunePanel``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.feedback import ExampleStoreSink, FeedbackKind, FeedbackSink
from ui.tasks import BackgroundTask, run_in_background

log = get_logger("ui.finetune")

AUTO_AFTER = 10  # new examples that start a run (as the library's FineTuneConfig default)


class TrainingProcessError(RpaVisionError):
    """The training process ended with an error (its last line is the message)."""


@dataclass(frozen=True)
class TunerSnapshot:
    """What the panel shows, read off the GUI thread: the status, adapter versions, last runs."""

    status: Any  # rpa_vision.finetune.FineTuneStatus
    versions: tuple[int, ...] = ()
    history: tuple[Any, ...] = ()  # RunRecord, oldest first (the last 20)

    @classmethod
    def read(cls, tuner: Any, status: Any = None) -> TunerSnapshot:
        return cls(status if status is not None else tuner.status(), tuple(tuner.registry.versions()),
                   tuple(tuner.history()[-20:]))


class FineTuneService(QObject):
    """Owns one ``FineTuner`` for the app's home folder and encoder.

    ``status_changed(TunerSnapshot | None)`` and ``message(str)`` arrive on the GUI thread; the
    tuner's own listener runs on the thread that changed something and only emits a signal.
    """

    status_changed = Signal(object)  # TunerSnapshot, or None while there is no tuner
    message = Signal(str)
    adapter_changed = Signal()  # a training process or a rollback made another adapter current
    _from_thread = Signal(object)

    def __init__(self, paths: Paths, encoder_factory: Callable[[], Any], parent: QObject | None = None,
                 *, config: Any = None, child_encoder: str | None = None) -> None:
        """``child_encoder``: train in a separate ``rpa-vision finetune run --encoder NAME`` process
        (the app never loads torch, and training never competes with the GUI thread for the
        interpreter); None: train on the tuner's own background thread (any encoder object)."""
        super().__init__(parent)
        self.paths = paths
        self._encoder_factory = encoder_factory
        self._config = config
        self.child_encoder = child_encoder
        self._child: dict[str, Any] = {}  # "proc": the running training process (any thread)
        self._child_running = False
        self._next_auto = AUTO_AFTER
        self.last_child_pid: int | None = None
        self.tuner: Any = None
        self.state = "not started"  # not started | starting | ready | not available: <why>
        self.last: TunerSnapshot | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._from_thread.connect(self._deliver)

    # life cycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Build the tuner (loads the encoder and the adapters) on a background thread."""
        self._generation += 1
        gen = self._generation
        self.state = "starting"
        paths, factory, config = self.paths, self._encoder_factory, self._config

        in_child = self.child_encoder is not None

        def build() -> tuple[int, Any]:
            from rpa_vision.finetune import FineTuneConfig, FineTuner

            cfg = config or (FineTuneConfig(auto_after=0) if in_child else FineTuneConfig())
            return gen, FineTuner.for_encoder(paths.ensure(), factory(), cfg)

        run_in_background(self, build, self._built, self._build_failed, "finetune-start")

    def restart(self, paths: Paths, encoder_factory: Callable[[], Any], child_encoder: str | None = None) -> None:
        """A new home folder or encoder: the old tuner finishes quietly, a new one is built."""
        self.stop(wait=0.0)
        self.paths, self._encoder_factory, self.child_encoder = paths, encoder_factory, child_encoder
        self.start()

    @Slot(object)
    def _built(self, result: object) -> None:
        if not isinstance(result, tuple):
            return
        gen: int = result[0]
        tuner: Any = result[1]
        if gen != self._generation:  # superseded by a restart meanwhile
            return
        with self._lock:
            self.tuner = tuner
        self.state = "ready"
        tuner.subscribe(_weak_listener(self))
        tuner.start()  # trains when examples arrive on disk too (e.g. written before the tuner was ready)
        for w in tuner.status().warnings:
            self.message.emit(f"Fine-tuner: {w}")
        self.refresh()

    @Slot(str)
    def _build_failed(self, msg: str) -> None:
        self.state = f"not available: {msg}"
        self.message.emit(f"The fine-tuner is not available: {msg}")
        self.status_changed.emit(None)

    def stop(self, wait: float = 5.0) -> None:
        """Cancel a running training (its result is not swapped in) and forget the tuner."""
        self._generation += 1
        with self._lock:
            tuner, self.tuner = self.tuner, None
        proc = self._child.get("proc")
        if proc is not None and proc.poll() is None:
            proc.terminate()  # nothing is swapped in: the adapter is published only at the end
        if tuner is not None:
            tuner.cancel()
            if wait > 0:
                tuner.wait(wait)
                tuner.close()  # the watch thread ends, the shared registry forgets this tuner
            else:
                threading.Thread(target=tuner.close, name="rpa-vision-finetune-close", daemon=True).start()
        if wait > 0:  # no task of this object may emit after it is gone
            for task in self.findChildren(BackgroundTask):
                task.wait(wait)
        self.state = "not started"

    # status -------------------------------------------------------------------------------------
    def _on_tuner_status(self, status: Any) -> None:  # never the GUI thread (see train_now)
        tuner = self.tuner
        if tuner is None:
            return
        try:
            self._from_thread.emit(TunerSnapshot.read(tuner, status))
        except RuntimeError:  # the app closed while a run finished
            log.debug("fine-tuner status after the app closed")
        except RpaVisionError as exc:
            log.warning("fine-tuner status unreadable: %s", exc)

    @Slot(object)
    def _deliver(self, snap: object) -> None:
        if self.tuner is None or not isinstance(snap, TunerSnapshot):
            return
        if self._child_running:
            snap = replace(snap, status=replace(snap.status, state="training"))
        self.last = snap
        self.status_changed.emit(snap)
        new = snap.status.new_examples
        if self.child_encoder is not None and not self._child_running and new >= self._next_auto:
            self._start_child()

    def refresh(self) -> None:
        """Read the status (history file, example count, adapters) off the GUI thread."""
        tuner = self.tuner
        if tuner is not None:
            run_in_background(self, lambda: TunerSnapshot.read(tuner), self._deliver, self.message.emit,
                              "finetune-status")

    def status_line(self) -> str:
        if self.tuner is None:
            return self.state
        return self.last.status.line() if self.last is not None else "reading..."

    @property
    def training(self) -> bool:
        return self.last is not None and self.last.status.state != "idle"

    # actions ------------------------------------------------------------------------------------
    def train_now(self) -> bool:
        """Start a background run (False when there is no tuner); the outcome arrives as status."""
        tuner = self.tuner
        if tuner is None:
            self.message.emit(f"The fine-tuner is {self.state}.")
            return False
        if self.child_encoder is not None:
            if self._child_running:
                self.message.emit("The fine-tuner is already training.")
                return False
            self._start_child()
            return True
        run_in_background(self, tuner.start_background, self._train_started, self.message.emit, "finetune-train")
        return True

    # training in a separate process ---------------------------------------------------------------
    def _start_child(self) -> None:
        tuner = self.tuner
        if tuner is None or self.child_encoder is None:
            return
        new = self.last.status.new_examples if self.last is not None else 0
        self._next_auto = new + AUTO_AFTER  # a run that learns nothing is not repeated at once
        self._child_running = True
        cmd = [sys.executable, "-m", "rpa_vision", "finetune", "run", "--encoder", self.child_encoder,
               "--home", str(self.paths.home)]
        box = self._child

        def run() -> str:  # a worker thread (lower priority: the training process inherits it)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ))
            box["proc"] = proc
            out, err = proc.communicate()
            lines = [ln.strip() for ln in (out + "\n" + err).splitlines() if ln.strip()]
            if proc.returncode != 0:
                raise TrainingProcessError(lines[-1] if lines else f"exit status {proc.returncode}")
            tuner.registry.load()  # the adapter the process swapped in (if it did)
            return f"{lines[-1] if lines else 'done'} (process {proc.pid})"

        run_in_background(self, run, self._child_done, self._child_failed, "finetune-process")
        self.message.emit(f"Fine-tuning started in a separate process on {len(tuner.store)} examples.")
        if self.last is not None:
            self._deliver(self.last)

    @Slot(object)
    def _child_done(self, text: object) -> None:
        self._next_auto = AUTO_AFTER  # the run consumed the new examples
        self._child_finished()
        self.adapter_changed.emit()
        self.message.emit(f"Fine-tuning finished: {text}")

    @Slot(str)
    def _child_failed(self, msg: str) -> None:
        self._child_finished()
        self.message.emit(f"Fine-tuning did not run: {msg}")

    def _child_finished(self) -> None:
        proc = self._child.pop("proc", None)
        self.last_child_pid = proc.pid if proc is not None else None
        self._child_running = False
        self.refresh()

    @Slot(object)
    def _train_started(self, started: object) -> None:
        tuner = self.tuner
        if not started:
            self.message.emit("The fine-tuner is already training.")
        elif tuner is not None:
            self.message.emit(f"Fine-tuning started on {len(tuner.store)} examples.")

    def rollback(self, version: int) -> None:
        tuner = self.tuner
        if tuner is None:
            self.message.emit(f"The fine-tuner is {self.state}.")
            return
        run_in_background(self, lambda: tuner.rollback(version), self._rolled_back, self._rollback_failed,
                          "finetune-rollback")

    @Slot(object)
    def _rolled_back(self, adapter: object) -> None:
        v = getattr(adapter, "version", "?")
        self.adapter_changed.emit()
        self.message.emit(f"Adapter v{v} is current" + (" (no adaptation)." if v == 0 else "."))
        self.refresh()

    @Slot(str)
    def _rollback_failed(self, msg: str) -> None:
        self.message.emit(f"Rollback failed: {msg}")

    def feedback(self) -> FeedbackSink:
        return TunerFeedback(self)


def _weak_listener(service: FineTuneService) -> Callable[[Any], None]:
    """The tuner's status listener without a strong reference back to the service: a reference cycle
    through a QObject could be collected on the training thread, deleting the QObject there."""
    ref = weakref.ref(service)

    def listener(status: Any) -> None:
        s = ref()
        if s is not None:
            s._on_tuner_status(status)

    return listener


class TunerFeedback(FeedbackSink):
    """The replayer's feedback sink: examples go to the app's tuner (which may start training);
    before the tuner is ready they go to its example store on disk, so none is lost."""

    def __init__(self, service: FineTuneService) -> None:
        self._service = weakref.ref(service)  # a replay thread must not keep the QObject alive
        self.paths = service.paths
        self._disk: ExampleStoreSink | None = None

    def record(self, kind: FeedbackKind, target: np.ndarray, positive: np.ndarray,
               negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> None:
        service = self._service()
        tuner = service.tuner if service is not None else None
        if tuner is None:
            if self._disk is None:
                self._disk = ExampleStoreSink(self.paths)
            self._disk.record(kind, target, positive, negatives, context)
            return
        try:
            tuner.add_example(kind, target, positive, negatives, context)
        except (RpaVisionError, OSError) as exc:  # an example lost never stops a replay
            log.warning("could not give a %s example to the fine-tuner: %s", kind, exc)
