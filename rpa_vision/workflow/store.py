"""The workflow library on disk: ``<home>/workflows/NAME/`` = ``workflow.json`` + PNG files.

Every write is atomic: a new workflow is built in a temporary folder and swapped in; an update
(a healed prototype) first writes its new PNG files under fresh names and then replaces
``workflow.json`` in one rename, so a failure at any point leaves the saved workflow as it was.
Deleting moves the folder to ``workflows/.trash`` (``restore`` brings it back).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from rpa_vision.core.atomic import atomic_directory, atomic_write_bytes, atomic_write_json, read_json
from rpa_vision.core.errors import (
    CorruptFileError,
    SchemaVersionError,
    StorageError,
    ValidationError,
    WorkflowError,
    WorkflowNotFoundError,
)
from rpa_vision.core.frame import to_bgr, validate_image
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.model import (
    SUPPORTED_VERSIONS,
    Workflow,
    migrate,
    schema_version_of,
    validate_name,
)

log = get_logger(__name__)

WORKFLOW_FILE = "workflow.json"
TRASH = ".trash"
MAX_IMPORT_BYTES = 2 * 1024**3  # uncompressed size an import may reach
MAX_IMPORT_FILES = 20000


class WorkflowExistsError(WorkflowError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a workflow named {name!r} already exists (choose another name, or delete it first)",
                         name=name)


class ImportRefusedError(WorkflowError):
    """An archive that is not a workflow export, is corrupt, or tries to write outside its folder."""


def encode_png(img: np.ndarray) -> bytes:
    validate_image(img, "image")
    arr = img if img.ndim == 2 else to_bgr(img, "BGR") if img.shape[2] != 4 else img
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise StorageError("cannot encode PNG")
    return buf.tobytes()


def decode_png(path: Path) -> np.ndarray:
    try:
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except FileNotFoundError as exc:
        raise WorkflowError(f"{path}: the file is missing", path=str(path)) from exc
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}", path=path) from exc
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise CorruptFileError(path, "not a readable PNG image")
    return img


@dataclass(frozen=True)
class WorkflowSummary:
    name: str
    steps: int
    created: float
    screen_wh: tuple[int, int]
    path: Path
    error: str = ""  # non-empty when the workflow cannot be loaded

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "steps": self.steps, "created": self.created,
                "screen_wh": list(self.screen_wh), "path": str(self.path), "error": self.error}


@dataclass(frozen=True)
class TrashEntry:
    name: str
    deleted: float
    path: Path


class WorkflowStore:
    """The library of recorded workflows under a home folder."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or Paths.resolve()
        self.root = self.paths.workflows

    # paths ----------------------------------------------------------------------------------
    def folder(self, name: str) -> Path:
        return self.root / validate_name(name)

    def exists(self, name: str) -> bool:
        return (self.folder(name) / WORKFLOW_FILE).is_file()

    def _require(self, name: str) -> Path:
        folder = self.folder(name)
        if not (folder / WORKFLOW_FILE).is_file():
            raise WorkflowNotFoundError(name, self.root)
        return folder

    # reading --------------------------------------------------------------------------------
    def load(self, name: str, *, check_files: bool = True) -> Workflow:
        return self.load_folder(self._require(name), check_files=check_files, expect_name=validate_name(name))

    @staticmethod
    def load_folder(folder: Path, *, check_files: bool = True, expect_name: str | None = None) -> Workflow:
        path = folder / WORKFLOW_FILE
        doc = read_json(path)
        if not isinstance(doc, dict):
            raise CorruptFileError(path, "not a workflow document")
        version = schema_version_of(doc)
        if version is None:
            raise CorruptFileError(path, "no schema_version: not a workflow file")
        if not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
            raise SchemaVersionError(path, version, list(SUPPORTED_VERSIONS))
        try:
            wf = Workflow.from_json(migrate(doc))
        except ValidationError as exc:
            raise CorruptFileError(path, str(exc)) from exc
        if expect_name is not None and wf.name != expect_name:
            # the folder name is authoritative (a folder renamed by hand still loads)
            wf = wf.renamed(expect_name)
        if check_files:
            missing = [f for f in dict.fromkeys(wf.files()) if not (folder / f).is_file()]
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise WorkflowError(
                    f"workflow {wf.name!r} is incomplete: missing {', '.join(missing[:3])}{more} in {folder}",
                    missing=missing,
                )
        return wf

    def image(self, name_or_wf: str | Workflow, file: str) -> np.ndarray:
        name = name_or_wf.name if isinstance(name_or_wf, Workflow) else name_or_wf
        return decode_png(self.folder(name) / file)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / WORKFLOW_FILE).is_file())

    def summaries(self) -> list[WorkflowSummary]:
        out = []
        for n in self.names():
            folder = self.root / n
            try:
                wf = self.load_folder(folder, check_files=False, expect_name=n)
                out.append(WorkflowSummary(n, len(wf.steps), wf.created, (wf.screen.width, wf.screen.height), folder))
            except (WorkflowError, StorageError, ValidationError) as exc:
                out.append(WorkflowSummary(n, 0, 0.0, (0, 0), folder, str(exc)))
        return out

    # writing --------------------------------------------------------------------------------
    def save(self, wf: Workflow, images: Mapping[str, np.ndarray | bytes], *, overwrite: bool = False) -> Path:
        """Save a new workflow with its images (file name -> BGR array or PNG bytes), atomically."""
        folder = self.folder(wf.name)
        if folder.exists() and not overwrite:
            raise WorkflowExistsError(wf.name)
        missing = [f for f in dict.fromkeys(wf.files()) if f not in images]
        if missing:
            raise WorkflowError(f"cannot save {wf.name!r}: no image for {', '.join(missing[:3])}", missing=missing)
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_directory(folder) as tmp:
            for fname, img in images.items():
                _write_file(tmp / validate_file_name(fname), img if isinstance(img, bytes) else encode_png(img))
            atomic_write_json(tmp / WORKFLOW_FILE, wf.to_json())
        log.info("saved workflow %s (%d steps) in %s", wf.name, len(wf.steps), folder)
        return folder

    def update(self, wf: Workflow, new_images: Mapping[str, np.ndarray] | None = None) -> Path:
        """Replace the JSON of an existing workflow, adding new image files first (never overwriting)."""
        folder = self._require(wf.name)
        for fname, img in (new_images or {}).items():
            if (folder / fname).exists():
                raise WorkflowError(f"{folder / fname} exists already; new images need new names")
            atomic_write_bytes(folder / validate_file_name(fname), encode_png(img))
        missing = [f for f in dict.fromkeys(wf.files()) if not (folder / f).is_file()]
        if missing:
            raise WorkflowError(f"cannot update {wf.name!r}: missing {', '.join(missing[:3])}", missing=missing)
        atomic_write_json(folder / WORKFLOW_FILE, wf.to_json())
        return folder

    def unique_file(self, name: str, stem: str, suffix: str = ".png") -> str:
        folder = self.folder(name)
        i = 1
        while (folder / f"{stem}-{i}{suffix}").exists() or (folder / f"{stem}-{i}-screen{suffix}").exists():
            i += 1
        return f"{stem}-{i}{suffix}"

    # delete / restore / rename ----------------------------------------------------------------
    @property
    def trash(self) -> Path:
        return self.root / TRASH

    def delete(self, name: str) -> Path:
        """Move a workflow to the trash (undo with ``restore``); returns where it went."""
        folder = self._require(name)
        self.trash.mkdir(parents=True, exist_ok=True)
        dest = self.trash / f"{folder.name}@{time.time():.6f}"
        try:
            os.replace(folder, dest)
        except OSError as exc:
            raise StorageError(f"cannot move {folder} to the trash: {exc.strerror or exc}", path=folder) from exc
        return dest

    def trashed(self) -> list[TrashEntry]:
        if not self.trash.is_dir():
            return []
        out = []
        for p in self.trash.iterdir():
            name, _, ts = p.name.rpartition("@")
            try:
                out.append(TrashEntry(name, float(ts), p))
            except ValueError:
                continue
        return sorted(out, key=lambda e: e.deleted, reverse=True)

    def restore(self, name: str) -> Path:
        """Bring back the most recently deleted workflow of that name."""
        n = validate_name(name)
        entries = [e for e in self.trashed() if e.name == n]
        if not entries:
            raise WorkflowNotFoundError(n, self.trash)
        target = self.root / n
        if target.exists():
            raise WorkflowExistsError(n)
        try:
            os.replace(entries[0].path, target)
        except OSError as exc:
            raise StorageError(f"cannot restore {n}: {exc.strerror or exc}", path=target) from exc
        return target

    def empty_trash(self) -> int:
        entries = self.trashed()
        for e in entries:
            shutil.rmtree(e.path, ignore_errors=True)
        return len(entries)

    def rename(self, old: str, new: str) -> Path:
        src = self._require(old)
        new_n = validate_name(new)
        dst = self.root / new_n
        if dst.exists() and dst != src:
            raise WorkflowExistsError(new_n)
        wf = self.load_folder(src, check_files=False, expect_name=src.name)
        # write the new name into the JSON first (atomic), then move the folder (atomic rename)
        atomic_write_json(src / WORKFLOW_FILE, wf.renamed(new_n).to_json())
        try:
            os.replace(src, dst)
        except OSError as exc:
            atomic_write_json(src / WORKFLOW_FILE, wf.to_json())
            raise StorageError(f"cannot rename {src} to {dst}: {exc.strerror or exc}", path=src) from exc
        return dst

    # export / import --------------------------------------------------------------------------
    def export(self, name: str, dest: Path) -> Path:
        """Write ``NAME/...`` into a zip file (atomically)."""
        folder = self._require(name)
        wf = self.load_folder(folder, expect_name=folder.name)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{folder.name}/{WORKFLOW_FILE}", json.dumps(wf.to_json(), indent=2, ensure_ascii=False))
            for f in sorted(dict.fromkeys(wf.files())):
                zf.write(folder / f, f"{folder.name}/{f}")
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / f"{folder.name}.zip"
        atomic_write_bytes(dest, buf.getvalue())
        return dest

    def import_(self, archive: Path, *, name: str | None = None) -> Path:
        """Import an exported zip; refuses paths outside its folder and anything not a workflow."""
        archive = Path(archive)
        try:
            zf = zipfile.ZipFile(archive)
        except FileNotFoundError as exc:
            raise StorageError(f"{archive}: no such file", path=archive) from exc
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ImportRefusedError(f"{archive}: not a zip archive ({exc})") from exc
        with zf:
            top, members = _check_members(archive, zf)
            target_name = validate_name(name or top)
            if (self.root / target_name).exists():
                raise WorkflowExistsError(target_name)
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                with atomic_directory(self.root / target_name) as tmp:
                    for info, rel in members:
                        with zf.open(info) as src:
                            data = src.read(MAX_IMPORT_BYTES + 1)
                        if len(data) != info.file_size:
                            raise ImportRefusedError(f"{archive}: {info.filename} is not the size it claims")
                        _write_file(tmp / rel, data)
                    wf = self.load_folder(tmp, expect_name=target_name)
                    for f in dict.fromkeys(wf.files()):
                        decode_png(tmp / f)
                    atomic_write_json(tmp / WORKFLOW_FILE, wf.to_json())
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                if isinstance(exc, ValidationError):
                    raise
                raise ImportRefusedError(f"{archive}: corrupt archive ({exc})") from exc
            except (WorkflowError, StorageError) as exc:
                if isinstance(exc, (ImportRefusedError, WorkflowExistsError)):
                    raise
                raise ImportRefusedError(f"{archive}: not a valid workflow export ({exc})") from exc
        return self.root / target_name


def validate_file_name(fname: str) -> str:
    if not fname or "/" in fname or "\\" in fname or fname.startswith(".") or fname == WORKFLOW_FILE:
        raise ValidationError(f"bad image file name {fname!r}", field="file")
    return fname


def _write_file(path: Path, data: bytes) -> None:
    try:
        with open(path, "xb") as fh:
            fh.write(data)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}", path=path) from exc


def _check_members(archive: Path, zf: zipfile.ZipFile) -> tuple[str, list[tuple[zipfile.ZipInfo, str]]]:
    infos = zf.infolist()
    if not infos:
        raise ImportRefusedError(f"{archive}: the archive is empty")
    if len(infos) > MAX_IMPORT_FILES:
        raise ImportRefusedError(f"{archive}: too many files ({len(infos)})")
    total = 0
    tops: set[str] = set()
    members: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        raw = info.filename
        p = PurePosixPath(raw.replace("\\", "/"))
        if raw.startswith(("/", "\\")) or p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
            raise ImportRefusedError(f"{archive}: refuses the path {raw!r} (it points outside the workflow folder)")
        mode = (info.external_attr >> 16) & 0o170000
        if mode == stat.S_IFLNK:
            raise ImportRefusedError(f"{archive}: refuses the symbolic link {raw!r}")
        if info.is_dir():
            continue
        if len(p.parts) != 2:
            raise ImportRefusedError(f"{archive}: unexpected entry {raw!r} (expected NAME/file)")
        tops.add(p.parts[0])
        fname = p.parts[1]
        if fname.startswith(".") or not (fname == WORKFLOW_FILE or fname.lower().endswith(".png")):
            raise ImportRefusedError(f"{archive}: unexpected file {raw!r} in a workflow export")
        total += info.file_size
        if total > MAX_IMPORT_BYTES:
            raise ImportRefusedError(f"{archive}: too large once unpacked")
        members.append((info, fname))
    if len(tops) != 1:
        raise ImportRefusedError(f"{archive}: expected one workflow folder, found {len(tops)}")
    top = tops.pop()
    if not any(rel == WORKFLOW_FILE for _, rel in members):
        raise ImportRefusedError(f"{archive}: no {WORKFLOW_FILE}: not a workflow export")
    try:
        validate_name(top)
    except WorkflowError as exc:
        raise ImportRefusedError(f"{archive}: {exc}") from exc
    return top, members
