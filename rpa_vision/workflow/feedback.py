"""Where confirmations, corrections and healed matches go: the fine-tuner's example store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths

log = get_logger(__name__)

FeedbackKind = Literal["confirmation", "correction", "healed"]


class FeedbackSink(ABC):
    """Receives one training example: the recorded target, the element that was right, wrong ones."""

    @abstractmethod
    def record(
        self,
        kind: FeedbackKind,
        target: np.ndarray,
        positive: np.ndarray,
        negatives: Sequence[np.ndarray] = (),
        context: dict[str, Any] | None = None,
    ) -> None: ...


class NullFeedbackSink(FeedbackSink):
    def record(self, kind: FeedbackKind, target: np.ndarray, positive: np.ndarray,
               negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> None:
        return None


@dataclass
class MemoryFeedbackSink(FeedbackSink):
    """Keeps examples in a list (tests, demos)."""

    items: list[tuple[str, np.ndarray, np.ndarray, tuple[np.ndarray, ...], dict[str, Any]]] = field(
        default_factory=list)

    def record(self, kind: FeedbackKind, target: np.ndarray, positive: np.ndarray,
               negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> None:
        self.items.append((kind, target, positive, tuple(negatives), dict(context or {})))


class ExampleStoreSink(FeedbackSink):
    """Appends to ``<home>/finetune`` through the fine-tuner's ``ExampleStore``.

    A failure to store an example is logged and never stops a replay.
    """

    def __init__(self, paths: Paths) -> None:
        from rpa_vision.finetune.examples import ExampleStore

        self.store = ExampleStore(paths.finetune)

    def record(self, kind: FeedbackKind, target: np.ndarray, positive: np.ndarray,
               negatives: Sequence[np.ndarray] = (), context: dict[str, Any] | None = None) -> None:
        try:
            self.store.add(kind, target, positive, negatives, context)
        except (RpaVisionError, OSError) as exc:
            log.warning("could not store a %s example for the fine-tuner: %s", kind, exc)
