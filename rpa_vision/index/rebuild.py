"""Re-embedding prototypes from their stored images with an encoder: ``rebuild_index``.

A ``PrototypeSource`` is any iterable of ``(image, metadata)`` pairs: a BGR ``uint8`` crop or
thumbnail and the prototype's metadata (``workflow``, ``step``, and optionally ``kind``,
``label``, ``created``, ``source``). The index package does not know where images come from;
the command line feeds it the workflow library.

The embedding comes from an encoder (``.name``, ``.dim``, ``.provenance()``, ``.embed(images)``)
or from any function ``images -> (n, dim) vectors`` together with the ``Provenance`` it stands
for. With an adapter (e.g. the fine-tuner's), the function gives base embeddings and the adapter
maps them; the base vectors are kept for the next re-projection::

    rebuild_index(source, embed, provenance=Provenance("clip/ViT-B-32", 512, "laion", adapter_version=3),
                  adapter=adapter.apply, adapter_version=3)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rpa_vision.core.errors import RpaVisionError, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.index.faiss_index import PrototypeIndex
from rpa_vision.index.types import IndexConfig, PrototypeMeta, Provenance

log = get_logger(__name__)

Progress = Callable[[int, int | None], None]
EmbedFn = Callable[[list[np.ndarray]], np.ndarray]


@runtime_checkable
class PrototypeSource(Protocol):
    def __iter__(self) -> Iterator[tuple[np.ndarray, Mapping[str, Any]]]: ...


class EncoderLike(Protocol):
    name: str
    dim: int

    def provenance(self) -> dict[str, Any]: ...

    def embed(self, images: list[np.ndarray]) -> np.ndarray: ...


@dataclass
class RebuildResult:
    index: PrototypeIndex
    added: int
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def rebuild_index(source: Iterable[tuple[np.ndarray, Mapping[str, Any]]], encoder: EncoderLike | EmbedFn, *,
                  provenance: Provenance | None = None, config: IndexConfig | None = None, batch_size: int = 64,
                  adapter: Callable[[np.ndarray], np.ndarray] | None = None, adapter_version: int = 0,
                  total: int | None = None, progress: Progress | None = None,
                  skip_bad: bool = True) -> RebuildResult:
    """Embed every image of ``source`` with ``encoder`` into a new index.

    ``encoder`` is an encoder object or a plain embedding function; a function needs
    ``provenance`` (an encoder's is derived from it unless given).
    ``adapter`` (with ``adapter_version > 0``) maps base embeddings to the indexed ones; the base
    vectors are kept. With ``skip_bad`` an image the encoder refuses is skipped and reported,
    otherwise its error propagates. ``progress(done, total)`` is called after every batch.
    """
    if batch_size < 1:
        raise ValidationError("batch_size must be >= 1", field="batch_size")
    if (adapter is None) != (adapter_version == 0):
        raise ValidationError("pass an adapter together with its version (> 0), or neither", field="adapter")
    embed_fn, prov = _embedder(encoder, provenance, adapter_version)
    index = PrototypeIndex(prov, config)
    result = RebuildResult(index, 0)
    images: list[np.ndarray] = []
    metas: list[PrototypeMeta] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if not images:
            return
        vecs, keep = _embed(embed_fn, prov.dim, images, metas, result, skip_bad)
        if len(vecs):
            kept = [metas[i] for i in keep]
            if adapter is None:
                index.add(vecs, kept)
            else:
                out = np.asarray(adapter(vecs), np.float32)
                out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
                index.add(out, kept, base=vecs)
            result.added += len(vecs)
        done += len(images)
        images.clear()
        metas.clear()
        if progress:
            progress(done, total)

    for n, item in enumerate(source):
        try:
            image, meta = item
            pm = PrototypeMeta.coerce(meta)
        except (TypeError, ValueError) as exc:
            if not skip_bad:
                raise ValidationError(f"source item {n} is not (image, metadata): {exc}", field="source") from exc
            result.skipped.append(({"item": n}, f"not (image, metadata): {exc}"))
            continue
        images.append(image)
        metas.append(pm)
        if len(images) >= batch_size:
            flush()
    flush()
    index.wait_for_migration()
    return result


def _embedder(encoder: EncoderLike | EmbedFn, provenance: Provenance | None,
              adapter_version: int) -> tuple[EmbedFn, Provenance]:
    embed = getattr(encoder, "embed", None)
    if callable(embed):
        prov = provenance or Provenance.from_encoder(encoder, adapter_version)
        fn: EmbedFn = embed
    elif callable(encoder):
        if provenance is None:
            raise ValidationError("an embedding function needs provenance= (encoder, weights, dim) for the index",
                                  field="provenance")
        prov, fn = provenance, encoder
    else:
        raise ValidationError(f"need an encoder or an embedding function, got {type(encoder).__name__}",
                              field="encoder")
    if prov.adapter_version != adapter_version:
        raise ValidationError(f"provenance says adapter v{prov.adapter_version} but adapter_version is "
                              f"{adapter_version}", field="adapter_version")
    return fn, prov


def _embed(embed: EmbedFn, dim: int, images: list[np.ndarray], metas: list[PrototypeMeta], result: RebuildResult,
           skip_bad: bool) -> tuple[np.ndarray, list[int]]:
    try:
        return np.asarray(embed(images), np.float32), list(range(len(images)))
    except RpaVisionError:
        if not skip_bad:
            raise
    vecs, keep = [], []
    for i, img in enumerate(images):  # find the culprit(s)
        try:
            vecs.append(np.asarray(embed([img]), np.float32)[0])
            keep.append(i)
        except RpaVisionError as exc:
            log.warning("skipping a prototype of %s step %d: %s", metas[i].workflow, metas[i].step, exc)
            result.skipped.append((metas[i].to_json(), str(exc)))
    return (np.stack(vecs) if vecs else np.zeros((0, dim), np.float32)), keep
