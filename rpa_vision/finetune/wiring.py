"""Where the current adapter is used: the Locator, the prototype index with its Matcher, state vectors.

- ``shared_registry(paths, encoder)``: one ``AdapterRegistry`` per adapters folder and encoder in a
  process, so the fine-tuner that publishes and every Locator bound to it see the same swaps.
- ``bind_locator(locator, registry)``: the Locator gets the current adapter now and after every
  swap (``Locator.set_adapter``; one locate call works with the adapter it started with).
- ``AdaptedIndex``: a ``PrototypeIndex`` and its ``Matcher`` that follow the registry. Before a new
  adapter is published, the index is rebuilt from its stored base vectors
  (``PrototypeIndex.rebuild_with``) and swapped together with the adapter in one assignment, so a
  search adapts its query and searches the index of the same adapter, never a mix.
- ``reproject_saved_index``: the same for the index saved under ``<home>/index`` (what
  ``rpa-vision index`` builds), registered by ``FineTuner.for_encoder``.
- ``adapt_state_vectors``: the adapter applied to the embedding blocks of fused state vectors.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rpa_vision.core.errors import ProvenanceMismatchError, RpaVisionError, StorageError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.finetune.adapter import Adapter, encoder_identity, l2_normalize
from rpa_vision.finetune.registry import AdapterRegistry
from rpa_vision.index import Match, MatchConfig, Matcher, PrototypeIndex, load_index, save_index

log = get_logger(__name__)

_SHARED: dict[tuple[str, str], AdapterRegistry] = {}
_SHARED_LOCK = threading.Lock()


def encoder_provenance(encoder: Any) -> dict[str, Any]:
    """An encoder's provenance with its dimension (encoders without ``provenance()`` get their name)."""
    prov = getattr(encoder, "provenance", None)
    desc: dict[str, Any] = dict(prov() or {}) if callable(prov) else {}
    if not desc.get("encoder") and not desc.get("name"):
        desc["name"] = str(getattr(encoder, "name", type(encoder).__name__))
    desc["dim"] = int(encoder.dim)
    return desc


def shared_registry(paths: Paths, encoder: Any) -> AdapterRegistry:
    """The process-wide registry of ``paths.adapters`` for ``encoder`` (loaded on first use)."""
    prov = encoder_provenance(encoder)
    key = (str(Path(paths.adapters).resolve()), json.dumps(encoder_identity(prov), sort_keys=True, default=str))
    with _SHARED_LOCK:
        reg = _SHARED.get(key)
        if reg is None:
            reg = AdapterRegistry(paths.adapters, int(prov["dim"]), prov)
            reg.load()
            _SHARED[key] = reg
        return reg


def bind_locator(locator: Any, registry: AdapterRegistry) -> Callable[[], None]:
    """Give ``locator`` (anything with ``set_adapter``) the current adapter now and after every
    swap; returns a function that unbinds it. The registry holds the locator weakly: a locator
    that is gone (a finished replay's) unbinds itself at the next swap."""
    try:
        ref: Callable[[], Any] = weakref.ref(locator)
    except TypeError:  # not weakly referable: held for good

        def ref() -> Any:
            return locator

    def give(adapter: Adapter) -> None:
        loc = ref()
        if loc is None:
            registry.remove_listener(give)
            return
        loc.set_adapter(None if adapter.is_identity else adapter)  # scoped: see Adapter.similarities

    give(registry.current)
    registry.on_swapped(give)
    return lambda: registry.remove_listener(give)


def bind_current_adapter(locator: Any, paths: Paths, encoder: Any) -> AdapterRegistry | None:
    """For builders (replay, locate): bind ``locator`` to the shared registry of ``encoder``.
    Adapters that cannot be used fall back inside the registry (with a warning); anything else
    leaves the locator on base embeddings, with a warning, rather than stopping a replay."""
    try:
        registry = shared_registry(paths, encoder)
    except (RpaVisionError, OSError, AttributeError, TypeError, ValueError) as exc:
        log.warning("no fine-tuned adapter for the locator (%s); using base embeddings", exc)
        return None
    for w in registry.warnings:
        log.warning("adapter: %s", w)
    bind_locator(locator, registry)
    return registry


def _reproject(index: PrototypeIndex, adapter: Adapter) -> PrototypeIndex:
    if index.provenance.dim != adapter.dim:
        raise ProvenanceMismatchError(
            f"the prototype index holds {index.provenance.dim}-D vectors but the adapter is {adapter.dim}-D "
            "(the encoder changed): run `rpa-vision index rebuild`",
            expected=adapter.dim, found=index.provenance.dim)
    prov = dataclasses.replace(index.provenance, adapter_version=adapter.version)
    return index.rebuild_with(adapter.apply, prov)


class AdaptedIndex:
    """A prototype index and its Matcher that follow an ``AdapterRegistry``.

    Queries and new prototypes are *base* embeddings; they are adapted here. ``(matcher, adapter)``
    is one tuple replaced in one assignment after the re-projected index is complete, so every
    search uses one adapter for its query and the index built with that same adapter."""

    def __init__(self, index: PrototypeIndex, registry: AdapterRegistry, *,
                 match_config: MatchConfig | None = None, save_to: Path | None = None) -> None:
        self._config = match_config
        self._save_to = save_to
        self._write = threading.Lock()
        current = registry.current
        if index.provenance.adapter_version != current.version or index.provenance.dim != current.dim:
            index = _reproject(index, current)
        self._pair: tuple[Matcher, Adapter] = (Matcher(index, config=match_config), current)
        registry.add_listener(self._prepare)

    @property
    def index(self) -> PrototypeIndex:
        return self._pair[0].index

    @property
    def adapter(self) -> Adapter:
        return self._pair[1]

    def _prepare(self, adapter: Adapter) -> None:
        """Runs before the registry publishes ``adapter``: re-project, save, then swap the pair."""
        with self._write:
            new = _reproject(self._pair[0].index, adapter)
            if self._save_to is not None:
                save_index(new, self._save_to)
            self._pair = (Matcher(new, config=self._config), adapter)

    def add(self, base_vectors: object, metas: Sequence[Any]) -> np.ndarray:
        """Add prototypes given as base embeddings; returns their ids."""
        base = l2_normalize(np.atleast_2d(np.asarray(base_vectors, np.float32)))
        with self._write:
            matcher, adapter = self._pair
            vecs = adapter.apply(base)
            if matcher.index.keeps_base:
                return matcher.index.add(vecs, list(metas), base=base)
            return matcher.index.add(vecs, list(metas))

    def match(self, base_vector: object, k: int = 5, *, workflow: str | None = None) -> list[Match]:
        matcher, adapter = self._pair
        return matcher.match(adapter.apply(np.asarray(base_vector, np.float32).reshape(1, -1))[0], k,
                             workflow=workflow)

    def match_many(self, base_vectors: object, k: int = 5, *, workflow: str | None = None) -> list[list[Match]]:
        matcher, adapter = self._pair
        return matcher.match_many(adapter.apply(np.atleast_2d(np.asarray(base_vectors, np.float32))), k,
                                  workflow=workflow)


def reproject_saved_index(root: Path) -> Callable[[Adapter], None]:
    """A registry listener that re-projects the index saved at ``root`` (when there is one) and saves
    it with the new adapter version in its provenance, before the swap. An index of another
    encoder is left alone (with a warning: ``rpa-vision index rebuild`` makes a new one)."""

    def listener(adapter: Adapter) -> None:
        try:
            index, _report = load_index(root)
        except StorageError:
            return  # no saved index yet
        if index.provenance.dim != adapter.dim:
            log.warning("the saved prototype index is %d-D, the adapter %d-D: not re-projected "
                        "(run `rpa-vision index rebuild`)", index.provenance.dim, adapter.dim)
            return
        save_index(_reproject(index, adapter), root)

    return listener


def adapt_state_vectors(vectors: object, adapter: Adapter) -> np.ndarray:
    """Fused state vectors (``rpa_vision.fusion.state_vector``: global block, pooled regions block,
    then text blocks) with the adapter applied to the two embedding blocks, each keeping its
    weight; unit length. A vector shorter than two embedding blocks is a ``ProvenanceMismatchError``."""
    v = np.atleast_2d(np.asarray(vectors, np.float32))
    d = adapter.dim
    if v.shape[1] < 2 * d:
        raise ProvenanceMismatchError(
            f"state vectors of dimension {v.shape[1]} do not hold two {d}-D embedding blocks (another encoder?)",
            expected=2 * d, found=int(v.shape[1]))
    if adapter.is_identity:
        return l2_normalize(v)
    out = v.copy()
    for start in (0, d):
        block = v[:, start:start + d]
        weight = np.linalg.norm(block, axis=1, keepdims=True)
        out[:, start:start + d] = adapter.apply(block) * weight
    return l2_normalize(out)
