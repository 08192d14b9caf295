"""Encoders (a registry with lazy imports), the embedding cache, OCR and text vectors.

    enc = create_encoder("auto")          # CLIP when its weights are here, else builtin
    vecs = enc.embed([crop1, crop2])      # (2, enc.dim) float32, L2-normalised
    cache = EmbeddingCache(max_entries=10_000)
    vecs = cache.get_or_compute(None, crops, enc)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rpa_vision.core.errors import UnknownNameError, WeightsUnavailableError
from rpa_vision.core.logging import get_logger
from rpa_vision.embedding.base import Encoder
from rpa_vision.embedding.cache import CacheStats, EmbeddingCache

log = get_logger(__name__)


def _builtin(**kw: Any) -> Encoder:
    from rpa_vision.embedding.builtin import BuiltinEncoder

    kw.pop("home", None)
    return BuiltinEncoder(**kw)


def _clip(**kw: Any) -> Encoder:
    from rpa_vision.embedding.clip import ClipEncoder

    return ClipEncoder(**kw)


def _auto(**kw: Any) -> Encoder:
    """CLIP when its weights are found locally (no network), otherwise builtin; says why."""
    from rpa_vision.embedding.clip_weights import DEFAULT_MODEL, DEFAULT_PRETRAINED, resolve_clip_weights

    model = str(kw.get("model", DEFAULT_MODEL))
    pretrained = str(kw.get("pretrained", DEFAULT_PRETRAINED))
    loc = resolve_clip_weights(model, pretrained, kw.get("home"))
    enc: Encoder
    if loc.found:
        try:
            import open_clip  # noqa: F401
        except ImportError:
            reason = f"CLIP weights found at {loc.path} but open_clip_torch is not installed"
        else:
            try:
                enc = _clip(**kw)
            except WeightsUnavailableError as exc:
                reason = f"CLIP weights unusable ({exc})"
            else:
                reason = f"CLIP weights for {model}/{pretrained} found locally ({loc.source}: {loc.path})"
                enc.chosen_because = f"clip: {reason}"
                log.info("encoder auto -> clip: %s", reason)
                return enc
    else:
        reason = f"no local CLIP weights for {model}/{pretrained} (offline default)"
    builtin_kw = {k: v for k, v in kw.items() if k in ("config", "batch_size")}
    enc = _builtin(**builtin_kw)
    enc.chosen_because = f"builtin: {reason}"
    log.info("encoder auto -> builtin: %s", reason)
    return enc


_REGISTRY: dict[str, Callable[..., Encoder]] = {"builtin": _builtin, "clip": _clip, "auto": _auto}


def available_encoders() -> list[str]:
    """Registered encoder names (whether each can run here is ``rpa-vision doctor``'s job)."""
    return sorted(_REGISTRY)


def create_encoder(name: str = "auto", **kw: Any) -> Encoder:
    """An encoder by name: ``builtin``, ``clip`` (``model=``, ``pretrained=``, ``device=`` ...) or ``auto``."""
    key = (name or "auto").strip().lower()
    factory = _REGISTRY.get(key)
    if factory is None:
        raise UnknownNameError("encoder", name, _REGISTRY)
    return factory(**kw)


def register_encoder(name: str, factory: Callable[..., Encoder]) -> None:
    """Add an encoder factory (plugins, tests)."""
    _REGISTRY[name.strip().lower()] = factory


def clip_weights_status(model: str | None = None, pretrained: str | None = None,
                        home: str | os.PathLike[str] | None = None) -> str:
    """One line for ``rpa-vision doctor``; raises ``WeightsUnavailableError`` when CLIP cannot run.

    Instant and offline: looks at files only, imports neither torch nor open_clip for the default.
    """
    import importlib.util

    from rpa_vision.embedding.clip_weights import DEFAULT_MODEL, DEFAULT_PRETRAINED, how_to_get, resolve_clip_weights

    m, p = model or DEFAULT_MODEL, pretrained or DEFAULT_PRETRAINED
    if importlib.util.find_spec("open_clip") is None:
        raise WeightsUnavailableError("open_clip_torch is not installed (pip install open_clip_torch)")
    loc = resolve_clip_weights(m, p, home)
    if not loc.found:
        raise WeightsUnavailableError(f"{m}/{p}: {how_to_get(m, p, home)}")
    return f"open_clip {m}/{p}: weights found ({loc.source}) at {loc.path}"


__all__ = [
    "CacheStats",
    "EmbeddingCache",
    "Encoder",
    "available_encoders",
    "clip_weights_status",
    "create_encoder",
    "register_encoder",
]
