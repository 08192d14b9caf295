"""``Matcher``: a state vector -> the best (workflow, step) candidates with a confidence.

How it works:

1. The index (or, for a given workflow, the ``PrototypeCache`` when one is attached) returns the
   nearest prototypes by cosine score ``s`` (the inner product of unit vectors).
2. Prototypes of the same ``(workflow, step)`` are aggregated by **max**: a step recorded and
   healed several times is as close as its closest look.
3. Each candidate's **margin** is its score minus the best *other* candidate's score (the
   runner-up for the winner, negative for the others). With no other candidate, the runner-up
   score is taken as ``score_floor``.
4. **Confidence** in [0, 1] is the product of two ramps::

       similarity = clip((s - score_floor) / (score_full - score_floor), 0, 1)
       separation = clip(0.5 + margin / (2 * margin_full), 0, 1)
       confidence = similarity * separation

   A candidate scoring ``score_full`` or more, ahead of the runner-up by ``margin_full`` or
   more, gets 1; two candidates tied get at most 0.5 each; a candidate at or below
   ``score_floor`` gets 0. The defaults suit CLIP-like embeddings; an encoder with another cosine
   range should set its own (``MatchConfig``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rpa_vision.core.errors import ValidationError
from rpa_vision.index.cache import PrototypeCache
from rpa_vision.index.faiss_index import PrototypeIndex
from rpa_vision.index.types import SearchResult


@dataclass(frozen=True)
class MatchConfig:
    score_floor: float = 0.5
    score_full: float = 0.95
    margin_full: float = 0.1
    fetch: int = 32  # prototypes fetched per query before grouping (widened when too few groups)

    def __post_init__(self) -> None:
        if not -1.0 <= self.score_floor < self.score_full <= 1.0:
            raise ValidationError("need -1 <= score_floor < score_full <= 1", field="score_floor")
        if not self.margin_full > 0:
            raise ValidationError("margin_full must be > 0", field="margin_full")
        if self.fetch < 1:
            raise ValidationError("fetch must be >= 1", field="fetch")


@dataclass(frozen=True)
class Match:
    """One (workflow, step) candidate for a screen state."""

    workflow: str
    step: int
    score: float  # best cosine among its prototypes
    margin: float  # score - best other candidate's score
    confidence: float  # in [0, 1], see the module doc
    prototype_id: int  # the prototype that gave the score
    prototypes: int  # how many of its prototypes were among the fetched neighbours


def confidence(score: float, margin: float, config: MatchConfig) -> float:
    sim = (score - config.score_floor) / (config.score_full - config.score_floor)
    sep = 0.5 + margin / (2.0 * config.margin_full)
    return float(np.clip(sim, 0.0, 1.0) * np.clip(sep, 0.0, 1.0))


class Matcher:
    def __init__(self, index: PrototypeIndex, cache: PrototypeCache | None = None,
                 config: MatchConfig | None = None) -> None:
        self.index = index
        self.cache = cache
        self.config = config or MatchConfig()

    def match(self, vector: object, k: int = 5, *, workflow: str | None = None) -> list[Match]:
        """The ``k`` best (workflow, step) candidates for one state vector, best first."""
        return self.match_many(np.asarray(vector, dtype=np.float32).reshape(1, -1), k, workflow=workflow)[0]

    def match_many(self, vectors: object, k: int = 5, *, workflow: str | None = None) -> list[list[Match]]:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValidationError(f"k must be an int >= 1, got {k!r}", field="k")
        q = np.asarray(vectors, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        total = len(self.index) if workflow is None else len(self.index.ids(workflow))
        fetch = max(self.config.fetch, 4 * k)
        while True:
            res = self._search(q, min(max(1, total), fetch), workflow)
            groups = [self._group(res, qi) for qi in range(len(q))]
            if fetch >= total or all(len(g) >= k + 1 for g in groups):
                break
            fetch *= 4
        return [self._rank(g, k) for g in groups]

    def _search(self, q: np.ndarray, fetch: int, workflow: str | None) -> SearchResult:
        if workflow is not None and self.cache is not None:
            if not self.cache.records(workflow):
                self.cache.warm(workflow)
            if len(self.cache.records(workflow)) >= len(self.index.ids(workflow)):
                return self.cache.search(q, fetch, workflow=workflow)
        return self.index.search(q, fetch, workflow=workflow)

    @staticmethod
    def _group(res: SearchResult, qi: int) -> dict[tuple[str, int], tuple[float, int, int]]:
        best: dict[tuple[str, int], tuple[float, int, int]] = {}
        for h in res.hits(qi):
            key = h.meta.key
            cur = best.get(key)
            if cur is None:
                best[key] = (h.score, h.id, 1)
            else:
                s, i, c = cur
                best[key] = (h.score, h.id, c + 1) if (h.score, -h.id) > (s, -i) else (s, i, c + 1)
        return best

    def _rank(self, groups: dict[tuple[str, int], tuple[float, int, int]], k: int) -> list[Match]:
        items = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
        out: list[Match] = []
        for n, ((wf, step), (score, pid, count)) in enumerate(items[:k]):
            if n > 0:
                other = items[0][1][0]
            else:
                other = items[1][1][0] if len(items) > 1 else self.config.score_floor
            margin = float(score - other)
            out.append(Match(wf, step, float(score), margin, confidence(score, margin, self.config), pid, count))
        return out
