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
from rpa_vision.core.errors import CorruptFileError, RpaVisionError, StorageError, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.finetune.adapter import Adapter
from rpa_vision.finetune.examples import Example, ExampleKind, ExampleStore
from rpa_vision.finetune.registry import AdapterRegistry
from rpa_vision.finetune.training import (
    TrainConfig,
    TrainingResult,
    TrainingSkipped,
    build_triplets,
    lower_thread_priority,
    train_adapter,
)
from rpa_vision.finetune.vector_cache import VectorCache

log = get_logger(__name__)

EmbedFn = Callable[[Sequence[np.ndarray]], np.ndarray]
State = Literal["idle", "training", "cancelling"]


@dataclass(frozen=True)
class FineTuneConfig:
    auto_after: int = 10  # new examples that trigger a background run (0 = never automatically)
    max_examples: int = 2000
    train: TrainConfig = field(default_factory=TrainConfig)
    vector_cache: bool = True  # keep the crops' base vectors on disk (per encoder) between processes

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
        registry: AdapterRegistry | None = None,
    ) -> None:
        self.paths = paths
        self.config = config
        self._embed = embed
        self.store = ExampleStore(paths.finetune, config.max_examples)
        if registry is None:
            registry = AdapterRegistry(paths.adapters, dim, encoder_provenance)
            registry.load()
        elif registry.dim != dim:
            raise ValidationError(f"registry dimension {registry.dim} != encoder dimension {dim}", field="registry")
        self.registry = registry
        # base vectors of example crops, kept on disk per encoder (a new process embeds only new crops)
        self._vec_cache = VectorCache(paths.finetune, encoder_provenance, dim, config.vector_cache)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._state: State = "idle"
        self._listeners: list[Callable[[FineTuneStatus], None]] = []
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._owned_listeners: list[Callable[[Adapter], None]] = []

    @classmethod
    def for_encoder(cls, paths: Paths, encoder: Any, config: FineTuneConfig = FineTuneConfig(), *,
                    shared: bool = True) -> FineTuner:
        """Build from an ``rpa_vision.embedding`` encoder (``embed``, ``provenance()``, ``dim``) on the
        process-wide registry of that encoder (so Locators bound with ``bind_current_adapter`` follow
        its swaps; ``shared=False``: a registry of its own, read from disk now); the index saved under
        ``paths.index`` is re-projected before every swap.

        In an app::

            tuner = FineTuner.for_encoder(paths, encoder, FineTuneConfig(auto_after=10))
            tuner.subscribe(lambda st: show(st.line()))
            tuner.start()          # trains in the background after 10 new examples
            ...
            tuner.stop()
        """
        from rpa_vision.finetune.wiring import encoder_provenance, reproject_saved_index, shared_registry

        if shared:
            registry = shared_registry(paths, encoder)
        else:  # a one-shot command: read the adapters from disk now
            prov = encoder_provenance(encoder)
            registry = AdapterRegistry(paths.adapters, int(encoder.dim), prov)
            registry.load()
        tuner = cls(paths, encoder.embed, encoder_provenance(encoder), int(encoder.dim), config, registry)
        listener = reproject_saved_index(paths.index)
        registry.add_listener(listener)
        tuner._owned_listeners.append(listener)
        return tuner

    def close(self) -> None:
        """Stop (see ``stop``) and detach this tuner's listeners from a shared registry."""
        self.stop()
        for fn in self._owned_listeners:
            self.registry.remove_listener(fn)
        self._owned_listeners.clear()

    # --- examples ---------------------------------------------------------------------------
    def add_example(self, kind: ExampleKind, target: np.ndarray, positive: np.ndarray,
                    negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> Example | None:
        ex = self.store.add(kind, target, positive, negatives, context)
        if ex is not None:
            self.maybe_train()
        self._notify()
        return ex

    def maybe_train(self) -> bool:
        """Start a background run when ``auto_after`` new examples arrived (from this tuner or any
        other writer of the store, e.g. the replayer's feedback sink); returns whether one started."""
        if not self.config.auto_after or self.store.pending() < self.config.auto_after:
            return False
        return self.start_background()

    # --- the app's loop ----------------------------------------------------------------------
    def start(self, poll_s: float = 2.0) -> None:
        """Watch the example store in a daemon thread and train in the background whenever
        ``auto_after`` new examples arrived. Idempotent; ``stop()`` ends it."""
        if poll_s <= 0:
            raise ValidationError("poll_s must be > 0", field="poll_s")
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, args=(poll_s,), name="rpa-vision-finetune-watch",
                                             daemon=True)
            self._watcher.start()

    def _watch(self, poll_s: float) -> None:
        seen = -1
        while not self._stop.wait(poll_s):
            try:
                pending = self.store.pending()
                if pending != seen:
                    seen = pending
                    self._notify()
                self.maybe_train()
            except (RpaVisionError, OSError) as exc:
                log.warning("fine-tuner watch: %s", exc)

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop watching, cancel a running training and wait for it; True when all stopped."""
        self._stop.set()
        w = self._watcher
        if w is not None:
            w.join(timeout)
        self.cancel()
        return self.wait(timeout) and (w is None or not w.is_alive())

    @property
    def running(self) -> bool:
        """Whether the watch loop runs."""
        return self._watcher is not None and self._watcher.is_alive()

    def status_text(self) -> str:
        """One line for a status bar, e.g. ``idle; adapter v2; 40 examples (3 new); last run swapped ...``."""
        return self.status().line()

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
        return FineTuneStatus(self._state, len(self.store), self.store.pending(),
                              self.registry.current.version, hist[-1] if hist else None,
                              tuple(self.registry.warnings) + tuple(self.store.warnings))

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
                self._vec_cache.update(ok, np.asarray(self._embed(crops), dtype=np.float32), live=keys)
        present = [k for k in keys if k in self._vec_cache]
        index = {k: i for i, k in enumerate(present)}
        if not present:
            return np.zeros((0, self.registry.dim), np.float32), index
        mat = np.stack([self._vec_cache[k] for k in present])
        return mat, index

    def clear_vector_cache(self) -> None:
        """Forget the base vectors of the example crops (in memory and on disk): the next run
        embeds every crop again (a cold start)."""
        self._vec_cache.clear()
        self._vec_cache.delete_file()

    def run(self, cancel: threading.Event | None = None) -> TrainingResult:
        """Train now, on this thread; swap in the result when it validates better.

        Raises ``TrainingSkipped`` (with the reason) when there is nothing to learn."""
        started = time.time()
        examples = self.store.examples()
        consumed = self.store.pending()
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
        self.store.mark_trained(consumed)
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
        lower_thread_priority()
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
