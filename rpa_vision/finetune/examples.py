"""Training examples from confirmations, corrections and healed matches.

An example says: for this *target* (the recorded element), this *positive* crop is the same
element and these *negatives* are not. Crops are stored (PNG, deduplicated by content) so the
examples survive an encoder change and can be re-embedded. The store is bounded (oldest dropped
first), deduplicated and written atomically; a corrupt store falls back to its last good copy.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from rpa_vision.core.atomic import atomic_write_bytes, atomic_write_json, read_json
from rpa_vision.core.errors import CorruptFileError, StorageError, ValidationError
from rpa_vision.core.filelock import file_lock
from rpa_vision.core.frame import content_hash, to_bgr, validate_image
from rpa_vision.core.logging import get_logger

log = get_logger(__name__)

ExampleKind = Literal["confirmation", "correction", "healed"]
EXAMPLES_SCHEMA_VERSION = 1

_ROOT_LOCKS: dict[str, threading.RLock] = {}
_ROOT_LOCKS_GUARD = threading.Lock()


def _root_lock(root: Path) -> threading.RLock:
    """One lock per store folder, shared by every ``ExampleStore`` of this process on that folder
    (the replayer's feedback sink and the app's fine-tuner each hold one)."""
    key = str(root.resolve())
    with _ROOT_LOCKS_GUARD:
        return _ROOT_LOCKS.setdefault(key, threading.RLock())


@dataclass(frozen=True)
class Example:
    id: str
    kind: ExampleKind
    target: str  # crop hash of the recorded element
    positive: str  # crop hash of the element that was right
    negatives: tuple[str, ...] = ()  # crop hashes of elements that were not
    created: float = field(default_factory=time.time)
    context: dict[str, Any] = field(default_factory=dict)  # workflow, step, screen size, ...

    def __post_init__(self) -> None:
        if self.kind not in ("confirmation", "correction", "healed"):
            raise ValidationError(f"unknown example kind {self.kind!r}", field="kind")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["negatives"] = list(self.negatives)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Example:
        return cls(str(d["id"]), d["kind"], str(d["target"]), str(d["positive"]),
                   tuple(str(n) for n in d.get("negatives", ())), float(d.get("created", 0.0)),
                   dict(d.get("context", {})))


class ExampleStore:
    """Examples under ``<home>/finetune``: ``examples.json`` + ``crops/<hash>.png``.

    Several stores may share a folder, in one process or in several (the replayer's feedback and
    the app's fine-tuner): each change re-reads the file under a lock (a thread lock and a lock
    file, ``examples.lock``), so none overwrites the other's examples."""

    def __init__(self, root: Path, max_examples: int = 2000) -> None:
        if max_examples < 1:
            raise ValidationError("max_examples must be >= 1", field="max_examples")
        self.root = Path(root)
        self.max_examples = max_examples
        self._lock = _root_lock(self.root)
        self._examples: list[Example] | None = None
        self._stamp: tuple[int, int] | None = None
        self.added_since_training = 0
        self.warnings: list[str] = []  # what loading had to repair (shown by the fine-tuner's status)

    @property
    def file(self) -> Path:
        return self.root / "examples.json"

    @property
    def backup(self) -> Path:
        return self.root / "examples.json.prev"

    @property
    def lock_file(self) -> Path:
        return self.root / "examples.lock"

    @property
    def crops_dir(self) -> Path:
        return self.root / "crops"

    # loading -------------------------------------------------------------------------------
    def _parse(self, path: Path) -> list[Example]:
        data = read_json(path)
        if not isinstance(data, dict) or data.get("schema_version") != EXAMPLES_SCHEMA_VERSION:
            raise CorruptFileError(path, "not an examples store of this version")
        try:
            return [Example.from_json(e) for e in data["examples"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptFileError(path, f"malformed example: {exc}") from exc

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.file.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def examples(self) -> list[Example]:
        with self._lock:
            stamp = self._file_stamp()
            if self._examples is None or stamp != self._stamp:
                self.added_since_training = 0
                self._examples = self._load()
                self._stamp = self._file_stamp()
            return list(self._examples)

    def pending(self) -> int:
        """Examples added since the last training (re-read from disk when it changed)."""
        with self._lock:
            self.examples()
            return self.added_since_training

    def _load(self) -> list[Example]:
        if not self.file.exists():
            return []
        try:
            ex = self._parse(self.file)
            self.added_since_training = int(read_json(self.file).get("added_since_training", 0))
            return ex
        except (CorruptFileError, StorageError) as exc:
            if self.backup.exists():
                try:
                    kept = self._parse(self.backup)
                    self._warn(f"examples store was corrupt ({exc}); using the previous copy ({len(kept)} examples)")
                    return kept
                except (CorruptFileError, StorageError) as exc2:
                    self._warn(f"examples store and its previous copy are corrupt ({exc}; {exc2}); starting empty")
            else:
                self._warn(f"examples store was corrupt ({exc}); starting empty")
            aside = self.file.with_name(f"examples.json.bad-{int(time.time())}")
            try:
                self.file.replace(aside)
            except OSError:
                pass
            return []

    def _warn(self, msg: str) -> None:
        log.warning(msg)
        self.warnings.append(msg)

    def _save(self) -> None:
        examples = self._examples if self._examples is not None else []
        if self.file.exists():
            try:
                self._parse(self.file)  # only a good file becomes the backup
                atomic_write_bytes(self.backup, self.file.read_bytes())
            except (CorruptFileError, StorageError):
                pass
        atomic_write_json(self.file, {
            "schema_version": EXAMPLES_SCHEMA_VERSION,
            "added_since_training": self.added_since_training,
            "examples": [e.to_json() for e in examples],
        }, indent=None)
        self._stamp = self._file_stamp()

    # crops ---------------------------------------------------------------------------------
    def put_crop(self, crop: np.ndarray) -> str:
        validate_image(crop, "crop")
        bgr = to_bgr(crop, "BGR")
        key = content_hash(bgr)
        path = self.crops_dir / f"{key}.png"
        if not path.exists():
            ok, buf = cv2.imencode(".png", bgr)
            if not ok:
                raise StorageError(f"cannot encode crop {key}", path=path)
            atomic_write_bytes(path, buf.tobytes())
        return key

    def crop(self, key: str) -> np.ndarray:
        path = self.crops_dir / f"{key}.png"
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise CorruptFileError(path, "missing or unreadable crop")
        return img

    # adding --------------------------------------------------------------------------------
    def add(
        self,
        kind: ExampleKind,
        target: np.ndarray,
        positive: np.ndarray,
        negatives: Sequence[np.ndarray] = (),
        context: dict[str, Any] | None = None,
    ) -> Example | None:
        """Store an example; returns None when an identical one is already stored."""
        with self._lock, file_lock(self.lock_file):
            t = self.put_crop(target)
            p = self.put_crop(positive)
            negs = tuple(dict.fromkeys(self.put_crop(n) for n in negatives if n is not None and n.size))
            negs = tuple(n for n in negs if n != p)
            ex_id = hashlib.blake2b("|".join((kind, t, p, *sorted(negs))).encode(), digest_size=10).hexdigest()
            current = self.examples()
            if any(e.id == ex_id for e in current):
                return None
            ex = Example(ex_id, kind, t, p, negs, time.time(), dict(context or {}))
            current.append(ex)
            dropped = current[: max(0, len(current) - self.max_examples)]
            self._examples = current[len(dropped):]
            self.added_since_training += 1
            self._save()
            self._gc_crops(dropped)
            return ex

    def mark_trained(self, consumed: int | None = None) -> None:
        """Training used ``consumed`` of the new examples (all when None); later ones stay new."""
        with self._lock, file_lock(self.lock_file):
            self.examples()
            left = 0 if consumed is None else max(0, self.added_since_training - consumed)
            self.added_since_training = left
            self._save()

    def _gc_crops(self, dropped: Sequence[Example]) -> None:
        if not dropped:
            return
        live = {h for e in self._examples or [] for h in (e.target, e.positive, *e.negatives)}
        for e in dropped:
            for h in (e.target, e.positive, *e.negatives):
                if h not in live:
                    (self.crops_dir / f"{h}.png").unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self.examples())
