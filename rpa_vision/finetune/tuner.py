"""The background fine-tuner: collects examples, trains in a daemon thread, swaps atomically.

Perception never waits for training: training runs on its own thread with a limited thread
count, and the swap is a single reference change in ``AdapterRegistry`` after the prototypes
were re-projected by the registry's listeners.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rpa_vision.core.atomic import atomic_write_json, read_json
from rpa_vision.core.errors import CorruptFileError, StorageError, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.finetune.adapter import Adapter
from rpa_vision.finetune.examples import Example, ExampleKind, ExampleStore
from rpa_vision.finetune.registry import AdapterRegistry
from rpa_vision.finetune.training import TrainConfig, TrainingResult, TrainingSkipped, build_triplets, train_adapter

log = get_logger(__name__)

EmbedFn = Callable[[Sequence[np.ndarray]], np.ndarray]
State = Literal["idle", "training", "cancelling"]


@dataclass(frozen=True)
class FineTuneConfig:
    auto_after: int = 10  # new examples that trigger a background run (0 = never automatically)
    max_examples: int = 2000
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.auto_after < 0:
            raise ValidationError("auto_after must be >= 0", field="auto_after")


@dataclass(frozen=True)
class RunRecord:
    started: float
    duration_s: float
    examples: int
    outcome: Literal["swapped", "kept", "skipped", "failed"]
    reason: str = ""
    val_accuracy_before: float | None = None
    val_accuracy_after: float | None = None
    val_loss_before: float | None = None
    val_loss_after: float | None = None
    adapter_version: int | None = None


@dataclass(frozen=True)
class FineTuneStatus:
    state: State
    examples: int
    new_examples: int
    adapter_version: int
    last_run: RunRecord | None
    warnings: tuple[str, ...] = ()

    def line(self) -> str:
        last = "never trained"
        if self.last_run is not None:
            r = self.last_run
            last = f"last run {r.outcome}"
            if r.val_accuracy_after is not None:
                last += f" (val acc {r.val_accuracy_before:.2f} -> {r.val_accuracy_after:.2f})"
            elif r.reason:
                last += f" ({r.reason})"
        return (f"{self.state}; adapter v{self.adapter_version}; {self.examples} examples "
                f"({self.new_examples} new); {last}")


class FineTuner:
    def __init__(
        self,
        paths: Paths,
        embed: EmbedFn,
        encoder_provenance: dict[str, Any],
        dim: int,
        config: FineTuneConfig = FineTuneConfig(),
    ) -> None:
        self.paths = paths
        self.config = config
        self._embed = embed
        self.store = ExampleStore(paths.finetune, config.max_examples)
        self.registry = AdapterRegistry(paths.adapters, dim, encoder_provenance)
        self.registry.load()
        self._vec_cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._state: State = "idle"
        self._listeners: list[Callable[[FineTuneStatus], None]] = []

    @classmethod
    def for_encoder(cls, paths: Paths, encoder: Any, config: FineTuneConfig = FineTuneConfig()) -> FineTuner:
        """Build from an ``rpa_vision.embedding`` encoder (``embed``, ``provenance()``, ``dim``)."""
        return cls(paths, encoder.embed, dict(encoder.provenance()), int(encoder.dim), config)

    # --- examples ---------------------------------------------------------------------------
    def add_example(self, kind: ExampleKind, target: np.ndarray, positive: np.ndarray,
                    negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> Example | None:
        ex = self.store.add(kind, target, positive, negatives, context)
        if ex is not None and self.config.auto_after and self.store.added_since_training >= self.config.auto_after:
            self.start_background()
        self._notify()
        return ex

    # --- status -----------------------------------------------------------------------------
    @property
    def history_file(self) -> Path:
        return self.paths.finetune / "history.json"

    def history(self) -> list[RunRecord]:
        if not self.history_file.exists():
            return []
        try:
            return [RunRecord(**r) for r in read_json(self.history_file)]
        except (CorruptFileError, StorageError, TypeError) as exc:
            log.warning("fine-tune history unreadable (%s); starting a new one", exc)
            return []

    def status(self) -> FineTuneStatus:
        hist = self.history()
        return FineTuneStatus(self._state, len(self.store), self.store.added_since_training,
                              self.registry.current.version, hist[-1] if hist else None,
                              tuple(self.registry.warnings))

    def subscribe(self, fn: Callable[[FineTuneStatus], None]) -> None:
        self._listeners.append(fn)

    def _notify(self) -> None:
        if not self._listeners:
            return
        st = self.status()
        for fn in list(self._listeners):
            try:
                fn(st)
            except Exception:
                log.exception("fine-tune status listener failed")

    def _record(self, rec: RunRecord) -> None:
        hist = [*self.history(), rec][-200:]
        atomic_write_json(self.history_file, [asdict(r) for r in hist])

    # --- training ---------------------------------------------------------------------------
    def _vectors(self, examples: Sequence[Example]) -> tuple[np.ndarray, dict[str, int]]:
        keys = sorted({h for e in examples for h in (e.target, e.positive, *e.negatives)})
        missing = [k for k in keys if k not in self._vec_cache]
        if missing:
            crops, ok = [], []
            for k in missing:
                try:
                    crops.append(self.store.crop(k))
                    ok.append(k)
                except CorruptFileError as exc:
                    log.warning("skipping example crop: %s", exc)
            if crops:
                vecs = np.asarray(self._embed(crops), dtype=np.float32)
                for k, v in zip(ok, vecs, strict=True):
                    self._vec_cache[k] = v
        present = [k for k in keys if k in self._vec_cache]
        index = {k: i for i, k in enumerate(present)}
        if not present:
            return np.zeros((0, self.registry.dim), np.float32), index
        mat = np.stack([self._vec_cache[k] for k in present])
        return mat, index

    def run(self, cancel: threading.Event | None = None) -> TrainingResult:
        """Train now, on this thread; swap in the result when it validates better.

        Raises ``TrainingSkipped`` (with the reason) when there is nothing to learn."""
        started = time.time()
        examples = self.store.examples()
        try:
            vectors, index = self._vectors(examples)
            if vectors.shape[0] and vectors.shape[1] != self.registry.dim:
                raise TrainingSkipped(
                    f"embedding dimension {vectors.shape[1]} != adapter dimension {self.registry.dim}")
            triplets = build_triplets([e for e in examples if e.target in index and e.positive in index], index)
            result = train_adapter(vectors, triplets, self.registry.current, self.config.train, cancel,
                                   version=self.registry.next_version())
        except TrainingSkipped as exc:
            self._record(RunRecord(started, time.time() - started, len(examples), "skipped", exc.reason))
            raise
        rec = dict(started=started, duration_s=result.duration_s, examples=len(examples),
                   val_accuracy_before=result.before.accuracy, val_accuracy_after=result.after.accuracy,
                   val_loss_before=result.before.loss, val_loss_after=result.after.loss)
        if result.improved:
            self.registry.publish(result.adapter)
            self._record(RunRecord(outcome="swapped", adapter_version=result.adapter.version, **rec))  # type: ignore[arg-type]
        else:
            self._record(RunRecord(outcome="kept", reason="the new adapter did not validate better",
                                   adapter_version=self.registry.current.version, **rec))  # type: ignore[arg-type]
        self.store.mark_trained()
        return result

    def start_background(self) -> bool:
        """Start a background run unless one is running; returns whether one was started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._cancel.clear()
            self._state = "training"
            self._thread = threading.Thread(target=self._background, name="rpa-vision-finetune", daemon=True)
            self._thread.start()
        self._notify()
        return True

    def _background(self) -> None:
        try:
            self.run(self._cancel)
        except TrainingSkipped as exc:
            log.info("fine-tuning skipped: %s", exc.reason)
        except Exception as exc:
            log.exception("fine-tuning failed")
            self._record(RunRecord(time.time(), 0.0, len(self.store), "failed", f"{type(exc).__name__}: {exc}"))
        finally:
            self._state = "idle"
            self._notify()

    def cancel(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._state = "cancelling"
            self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run; True when none is running any more."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def rollback(self, version: int) -> Adapter:
        ad = self.registry.rollback(version)
        self._notify()
        return ad
