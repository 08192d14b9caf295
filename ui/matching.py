"""Which recorded step does the current screen look like? (The live "state match".)

The app compares the current screen's state vector with the before-state of every step of every
workflow in the library (healed looks included), per state encoder: one ``PrototypeIndex`` per
encoder (a vector is only compared with vectors made by the same encoder), searched through the
library's ``Matcher``, which groups prototypes by (workflow, step). The result names the best
(workflow, step), its confidence (cosine similarity in [0, 1]), the margin to the best *other*
step, and the runners-up.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.frame import Frame
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.index import Matcher, PrototypeIndex, Provenance
from rpa_vision.workflow.state import ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore

log = get_logger(__name__)


@dataclass(frozen=True)
class StepMatch:
    workflow: str
    step_index: int
    step_count: int
    confidence: float
    description: str = ""


@dataclass(frozen=True)
class MatchResult:
    """Best first; ``margin`` = best confidence minus the best other step's (1.0 when alone)."""

    matches: tuple[StepMatch, ...] = ()
    margin: float = 0.0
    prototypes: int = 0

    @property
    def best(self) -> StepMatch | None:
        return self.matches[0] if self.matches else None


@dataclass
class _Bank:
    """One encoder's prototypes: the index searched, and (step count, description) per step."""

    matcher: Matcher
    steps: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.matcher.index)

    @classmethod
    def build(cls, encoder: str, vectors: np.ndarray, keys: list[tuple[str, int, int, str]]) -> _Bank:
        index = PrototypeIndex(Provenance(encoder or "unnamed", int(vectors.shape[1])))
        index.add(vectors, [{"workflow": wf, "step": idx, "kind": "state", "label": desc}
                            for wf, idx, _n, desc in keys])
        return cls(Matcher(index), {(wf, idx): (n, desc) for wf, idx, n, desc in keys})


VectorFn = Callable[[Frame], np.ndarray]
StateAdapter = Callable[[np.ndarray], np.ndarray]  # (n, D) base state vectors -> adapted, unit rows


class LibraryMatcher:
    """A brute-force matcher over the library's step states (exact cosine, numpy).

    ``encoders`` maps encoder names (as stored in the steps) to functions ``frame -> vector``;
    the thumbnail encoder is always available, the app adds its perceiver's.
    """

    def __init__(self, store: WorkflowStore, encoders: Mapping[str, VectorFn] | None = None) -> None:
        self.store = store
        thumb = ThumbnailStateEncoder()
        self._encoders: dict[str, VectorFn] = {thumb.name: thumb.state_vector, **dict(encoders or {})}
        self._banks: dict[str, _Bank] = {}
        self._adapters: dict[str, StateAdapter] = {}
        self._lock = threading.Lock()
        self.errors: dict[str, str] = {}
        self._bound: set[tuple[str, int]] = set()

    def add_encoder(self, name: str, fn: VectorFn) -> None:
        with self._lock:
            self._encoders[name] = fn

    def set_state_adapter(self, name: str, fn: StateAdapter | None) -> None:
        """Compare ``name``'s vectors (stored and live) through ``fn`` (the fine-tuner's current
        adapter); None compares base vectors. Takes effect at the next ``refresh``."""
        with self._lock:
            if fn is None:
                self._adapters.pop(name, None)
            else:
                self._adapters[name] = fn

    def _adapt(self, name: str, vectors: np.ndarray, adapters: Mapping[str, StateAdapter]) -> np.ndarray:
        fn = adapters.get(name)
        if fn is None:
            return vectors
        try:
            return np.asarray(fn(vectors), dtype=np.float32)
        except (RpaVisionError, ValueError) as exc:  # another encoder's vectors: compared as they are
            log.debug("state adapter not applied to %s: %s", name, exc)
            return vectors

    @property
    def size(self) -> int:
        with self._lock:
            return sum(b.size for b in self._banks.values())

    def refresh(self) -> int:
        """Re-read the library (workflows that fail to load are skipped and remembered)."""
        per_enc: dict[str, tuple[list[np.ndarray], list[tuple[str, int, int, str]]]] = {}
        errors: dict[str, str] = {}
        for name in self.store.names():
            try:
                wf = self.store.load(name, check_files=False)
            except RpaVisionError as exc:
                errors[name] = str(exc)
                continue
            n = len(wf.steps)
            for step in wf.steps:
                states = []
                if step.before is not None and step.before.vector is not None:
                    states.append((step.before.encoder or "", step.before.vector))
                states.extend(step.extra_states)
                for enc, vec in states:
                    vecs, keys = per_enc.setdefault(enc, ([], []))
                    v = np.asarray(vec, dtype=np.float32).reshape(-1)
                    if vecs and v.size != vecs[0].size:
                        continue
                    norm = float(np.linalg.norm(v))
                    if not np.isfinite(norm) or norm == 0:  # no direction: nothing to compare
                        continue
                    vecs.append(v / norm)
                    keys.append((wf.name, step.index, n, step.describe()))
        with self._lock:
            adapters = dict(self._adapters)
        banks = {enc: _Bank.build(enc, self._adapt(enc, np.stack(v).astype(np.float32), adapters), k)
                 for enc, (v, k) in per_enc.items() if v}
        with self._lock:
            self._banks = banks
            self.errors = errors
        return sum(b.size for b in banks.values())

    def match(self, frame: Frame, top_k: int = 4, known: Mapping[str, np.ndarray] | None = None) -> MatchResult:
        """Match a frame; ``known`` supplies vectors already computed (by encoder name)."""
        with self._lock:
            banks = dict(self._banks)
            encoders = dict(self._encoders)
            adapters = dict(self._adapters)
        best: dict[tuple[str, int], StepMatch] = {}
        for enc, bank in banks.items():
            vec = (known or {}).get(enc)
            if vec is None:
                fn = encoders.get(enc)
                if fn is None:
                    continue
                vec = fn(frame)
            v = np.asarray(vec, dtype=np.float32).reshape(-1)
            if enc in adapters:
                v = self._adapt(enc, v.reshape(1, -1), adapters).reshape(-1)
            if v.size != bank.matcher.index.provenance.dim:
                continue
            norm = float(np.linalg.norm(v))
            if not np.isfinite(norm) or norm == 0:
                continue
            for m in bank.matcher.match(v / norm, k=max(top_k, 2)):
                n, desc = bank.steps[(m.workflow, m.step)]
                conf = float(np.clip(m.score, 0.0, 1.0))
                cur = best.get((m.workflow, m.step))
                if cur is None or conf > cur.confidence:
                    best[(m.workflow, m.step)] = StepMatch(m.workflow, m.step, n, conf, desc)
        ranked = sorted(best.values(), key=lambda m: -m.confidence)
        margin = 0.0
        if ranked:
            margin = ranked[0].confidence - (ranked[1].confidence if len(ranked) > 1 else 0.0)
        return MatchResult(tuple(ranked[:top_k]), margin, sum(b.size for b in banks.values()))


def bind_state_adapter(matcher: LibraryMatcher, name: str, paths: Paths, encoder: object) -> bool:
    """Compare ``name``'s state vectors through the current fine-tuned adapter of ``encoder`` (the
    registry the fine-tuner publishes to), re-reading the library after every swap. False (base
    vectors) when there is no usable registry."""
    from rpa_vision.finetune.wiring import adapt_state_vectors, shared_registry

    try:
        registry = shared_registry(paths, encoder)
    except (RpaVisionError, OSError, AttributeError, TypeError, ValueError) as exc:
        log.warning("state matching on base vectors (no fine-tuned adapter: %s)", exc)
        return False
    matcher.set_state_adapter(name, lambda v: adapt_state_vectors(v, registry.current))
    key = (name, id(registry))
    with matcher._lock:
        first = key not in matcher._bound
        matcher._bound.add(key)
    if first:
        ref = weakref.ref(matcher)

        def swapped(_adapter: object) -> None:
            m = ref()
            if m is None:
                registry.remove_listener(swapped)
                return
            try:
                m.refresh()
            except RpaVisionError as exc:
                log.warning("cannot re-read the library after an adapter swap: %s", exc)

        registry.on_swapped(swapped)
    return True
