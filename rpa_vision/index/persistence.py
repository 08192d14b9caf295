"""Saving and loading a ``PrototypeIndex`` atomically, with provenance and checksums.

Layout of an index folder (``Paths.index`` by default)::

    MANIFEST.json          {format, schema_version, current: GEN, previous: GEN | null}
    gen-000007/            one complete generation
        index.faiss        the FAISS index (faiss.write_index)
        meta.npz           metadata columns (numpy, no pickles)
        strings.json       the string tables of the metadata columns
        base.npy           base (un-adapted) vectors, only for adapted indexes
        GENERATION.json    GEN = {generation, folder, files: {name: {size, crc32}}, provenance, state}

A save writes a new generation folder (every file fsynced, then the folder), and only then
replaces ``MANIFEST.json`` in one atomic rename; the previous generation is kept (it is the
fallback) and older ones are deleted. A crash or a full disk at any point leaves the last
complete generation loadable. One writer at a time (an advisory lock file on POSIX).

Loading verifies sizes and CRC-32 checksums. Documented repairs: when the current generation is
damaged (truncated, corrupt, missing files) the previous one is loaded with a warning; when the
manifest itself is unreadable the newest generation that verifies is used. A foreign schema
version raises ``IndexSchemaVersionError`` (a ``SchemaVersionError``) that says what to do; a save
over such a folder keeps the foreign generations and a copy of their manifest
(``MANIFEST.schema-<N>.json``), so nothing written by another version is lost. Another encoder,
weights, dimension or adapter raises ``ProvenanceMismatchError`` naming ``rpa-vision index rebuild``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rpa_vision.core.atomic import atomic_write_json, read_json
from rpa_vision.core.errors import CorruptFileError, SchemaVersionError, StorageError, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.index.faiss_index import PrototypeIndex, _State
from rpa_vision.index.metastore import MetaStore
from rpa_vision.index.types import SCHEMA_VERSION, IndexConfig, Provenance

log = get_logger(__name__)


class IndexSchemaVersionError(SchemaVersionError):
    """An index folder written by another schema version; the message names the remedies."""

    def __init__(self, path: Path | str, found: object, supported: object) -> None:
        super().__init__(path, found, supported)
        self.message = (f"{self.message}; use the rpa-vision version that wrote it, or run `rpa-vision index "
                        "rebuild` to build a current index beside it (its generations are kept)")


MANIFEST = "MANIFEST.json"
GENERATION = "GENERATION.json"
FORMAT = "rpa-vision-prototype-index"
_GEN = re.compile(r"^gen-(\d{6,})$")
_META_COLUMNS = ("alive", "workflow", "step", "kind", "label", "created", "source")


@dataclass
class LoadReport:
    """How a load went: the generation used, and any repair made (``warnings``)."""

    path: Path
    generation: int
    warnings: list[str] = field(default_factory=list)


def _crc32_file(path: Path) -> tuple[int, str]:
    crc, size = 0, 0
    with open(path, "rb") as fh:
        while True:
            buf = fh.read(8 << 20)
            if not buf:
                break
            crc = zlib.crc32(buf, crc)
            size += len(buf)
    return size, f"{crc & 0xFFFFFFFF:08x}"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _writer_lock(root: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: single writer by convention
        yield
        return
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _generations(root: Path) -> list[int]:
    if not root.is_dir():
        return []
    return sorted(int(m.group(1)) for p in root.iterdir() if p.is_dir() and (m := _GEN.match(p.name)))


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptFileError(path, "not a prototype index manifest")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexSchemaVersionError(path, version, SCHEMA_VERSION)
    if not isinstance(doc.get("current"), dict):
        raise CorruptFileError(path, "the manifest names no current generation")
    return doc


# -- save ----------------------------------------------------------------------------------------
def save_index(index: PrototypeIndex, root: str | os.PathLike[str]) -> Path:
    """Save atomically as a new generation under ``root``; returns the generation folder."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {root}: {exc.strerror or exc}", path=root) from exc
    with _writer_lock(root):
        previous: dict[str, Any] | None = None
        try:
            previous = _read_manifest(root)["current"]
        except SchemaVersionError as exc:  # written by another version: keep a copy of its manifest
            backup = root / f"{Path(MANIFEST).stem}.schema-{exc.found}.json"
            if not backup.exists():
                shutil.copyfile(root / MANIFEST, backup)
            log.warning("the index in %s was written by schema version %s; its generations are kept", root,
                        exc.found)
        except StorageError:
            pass
        number = max([*_generations(root), int(previous["generation"]) if previous else 0]) + 1
        folder = root / f"gen-{number:06d}"
        try:
            entry = _write_generation(index, folder, number)
            atomic_write_json(root / MANIFEST, {"format": FORMAT, "schema_version": SCHEMA_VERSION,
                                                "current": entry, "previous": previous})
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise StorageError(f"cannot save the index in {root}: {exc.strerror or exc} "
                               "(the previous copy is untouched)", path=root) from exc
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        keep = {folder.name, str(previous["folder"]) if previous else ""}
        for g in _generations(root):
            name = f"gen-{g:06d}"
            if name not in keep and not _foreign(root / name):
                shutil.rmtree(root / name, ignore_errors=True)
    log.info("saved the prototype index (%d prototypes) as %s", len(index), folder)
    return folder


def _foreign(folder: Path) -> bool:
    """A complete generation written by another schema version (never deleted by a save)."""
    try:
        doc = read_json(folder / GENERATION)
        version = doc["provenance"].get("schema_version", SCHEMA_VERSION)
    except (StorageError, ValidationError, KeyError, TypeError, AttributeError):
        return False  # incomplete (a save that died) or unreadable: ours to clean up
    return bool(version != SCHEMA_VERSION)


def _write_generation(index: PrototypeIndex, folder: Path, number: int) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=False)
    files: dict[str, dict[str, Any]] = {}
    with index._snapshot() as st:
        try:
            faiss.write_index(st.faiss_index, str(folder / "index.faiss"))
        except RuntimeError as exc:  # FAISS reports write failures (a full disk) this way
            raise OSError(f"FAISS could not write the index: {str(exc).splitlines()[0]}") from exc
        arrays, strings = st.meta.to_arrays()
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        _write_file(folder / "meta.npz", buf.getvalue())
        _write_file(folder / "strings.json", json.dumps(strings, ensure_ascii=False).encode("utf-8"))
        if st.base is not None:
            with open(folder / "base.npy", "wb") as fh:
                np.save(fh, st.base[:st.meta.next_id], allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
        state = {"kind": st.kind, "nlist": st.nlist, "trained_on": st.trained_on, "count": st.meta.count,
                 "next_id": st.meta.next_id}
    _fsync_file(folder / "index.faiss")
    for p in sorted(folder.iterdir()):
        size, crc = _crc32_file(p)
        files[p.name] = {"size": size, "crc32": crc}
    entry = {"generation": number, "folder": folder.name, "saved": time.time(), "files": files,
             "provenance": index.provenance.to_json(), "state": state}
    _write_file(folder / GENERATION, json.dumps(entry, indent=2).encode("utf-8"))
    _fsync_dir(folder)
    _fsync_dir(folder.parent)
    return entry


# -- load ----------------------------------------------------------------------------------------
def load_index(root: str | os.PathLike[str], *, expected: Provenance | None = None,
               config: IndexConfig | None = None, fallback: bool = True) -> tuple[PrototypeIndex, LoadReport]:
    """Load the current generation (or, with ``fallback``, the last good one; see the module doc)."""
    root = Path(root)
    if not (root / MANIFEST).exists() and not _generations(root):
        raise StorageError(f"no prototype index in {root} (build one with `rpa-vision index rebuild`)", path=root)
    warnings: list[str] = []
    candidates: list[dict[str, Any]] = []
    try:
        manifest = _read_manifest(root)
        candidates = [manifest["current"]] + ([manifest["previous"]] if manifest.get("previous") else [])
    except SchemaVersionError:
        raise
    except StorageError as exc:
        if not fallback:
            raise
        warnings.append(f"manifest unreadable ({exc}); using the newest generation that verifies")
        for g in reversed(_generations(root)):
            with contextlib.suppress(StorageError, ValidationError):
                doc = read_json(root / f"gen-{g:06d}" / GENERATION)
                if isinstance(doc, dict):
                    candidates.append(doc)
    errors: list[str] = []
    for n, entry in enumerate(candidates):
        if n > 0 and not fallback:
            break
        try:
            ix = _load_generation(root, entry, config)
        except (CorruptFileError, StorageError) as exc:
            errors.append(str(exc))
            log.warning("index generation %s is not usable: %s", entry.get("folder"), exc)
            continue
        if n > 0 or warnings:
            warnings.append(f"loaded generation {entry.get('generation')} after: {'; '.join(errors) or 'repair'}")
            for w in warnings:
                log.warning(w)
        if expected is not None:
            ix.provenance.check(expected, where=f"the index in {root}")
        return ix, LoadReport(root, int(entry.get("generation", 0)), warnings)
    if errors:
        raise CorruptFileError(root, "; ".join(errors))
    raise CorruptFileError(root, "no complete generation found")


def _load_generation(root: Path, entry: dict[str, Any], config: IndexConfig | None) -> PrototypeIndex:
    try:
        folder = root / str(entry["folder"])
        files = dict(entry["files"])
        prov = Provenance.from_json(entry["provenance"])
        state = dict(entry["state"])
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise CorruptFileError(root / MANIFEST, f"malformed generation entry: {exc}") from exc
    if prov.schema_version != SCHEMA_VERSION:
        raise IndexSchemaVersionError(folder, prov.schema_version, SCHEMA_VERSION)
    for name in ("index.faiss", "meta.npz", "strings.json"):
        if name not in files:
            raise CorruptFileError(folder, f"{name} is not listed")
    for name, info in files.items():
        p = folder / name
        if not p.is_file():
            raise CorruptFileError(p, "missing")
        size, crc = _crc32_file(p)
        if size != info.get("size") or crc != info.get("crc32"):
            raise CorruptFileError(p, f"checksum mismatch (size {size} vs {info.get('size')}, "
                                      f"crc32 {crc} vs {info.get('crc32')}): truncated or damaged")
    try:
        index = faiss.read_index(str(folder / "index.faiss"))
    except RuntimeError as exc:
        raise CorruptFileError(folder / "index.faiss", f"FAISS cannot read it: {str(exc).splitlines()[0]}") from exc
    try:
        with np.load(folder / "meta.npz", allow_pickle=False) as z:
            arrays = {c: z[c] for c in _META_COLUMNS}
        strings = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
        meta = MetaStore.from_arrays(arrays, strings)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(folder / "meta.npz", f"metadata unreadable: {exc}") from exc
    base = None
    if "base.npy" in files:
        try:
            base = np.load(folder / "base.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CorruptFileError(folder / "base.npy", f"base vectors unreadable: {exc}") from exc
    _check_consistent(folder, index, meta, base, prov, state)
    st = _State(index, "ivf" if state.get("kind") == "ivf" else "flat", meta, base,
                int(state.get("nlist", 0)), int(state.get("trained_on", 0)))
    return PrototypeIndex._from_state(prov, config, st)


def _check_consistent(folder: Path, index: Any, meta: MetaStore, base: np.ndarray | None, prov: Provenance,
                      state: dict[str, Any]) -> None:
    def bad(reason: str) -> CorruptFileError:
        return CorruptFileError(folder, f"metadata does not match the index: {reason}")

    if index.d != prov.dim:
        raise bad(f"FAISS index is {index.d}-D, provenance says {prov.dim}-D")
    if index.ntotal != meta.count:
        raise bad(f"{index.ntotal} vectors but {meta.count} live metadata records")
    if state.get("count") != meta.count or state.get("next_id") != meta.next_id:
        raise bad("record counts differ from the generation entry")
    if prov.adapter_version and (base is None or base.shape != (meta.next_id, prov.dim)):
        raise bad("an adapted index needs its base vectors (base.npy) with one row per id")
    ids = meta.live_ids()
    if len(ids):
        probe = ids[np.linspace(0, len(ids) - 1, num=min(len(ids), 64)).astype(int)]
        try:
            index.reconstruct_batch(probe)
        except RuntimeError as exc:
            raise bad(f"ids missing from the FAISS index ({str(exc).splitlines()[0]})") from exc
