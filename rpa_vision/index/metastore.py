"""Prototype metadata stored by column beside the FAISS index, joined by id.

Ids are assigned by the index, never reused, and are the row of every column, so a join is an
array lookup. Strings are dictionary-encoded (a million prototypes of a few hundred workflows
cost ~30 bytes each, not a Python object each). Removed ids keep their (dead) row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rpa_vision.core.errors import IndexError_
from rpa_vision.index.types import PrototypeMeta

STRING_COLUMNS = ("workflow", "kind", "label", "source")


class _Strings:
    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values: list[str] = list(values)
        self.codes: dict[str, int] = {v: i for i, v in enumerate(self.values)}

    def code(self, s: str) -> int:
        c = self.codes.get(s)
        if c is None:
            c = self.codes[s] = len(self.values)
            self.values.append(s)
        return c


class MetaStore:
    """Columns: alive, workflow, step, kind, label, created, source (one row per id ever given)."""

    def __init__(self) -> None:
        self._n = 0  # rows used == next id
        self._cap = 0
        self.alive = np.zeros(0, bool)
        self.cols: dict[str, np.ndarray] = {}
        self.strings = {c: _Strings() for c in STRING_COLUMNS}
        self._alloc(0)

    def _alloc(self, cap: int) -> None:
        new = {"workflow": np.int32, "step": np.int32, "kind": np.int32, "label": np.int32,
               "created": np.float64, "source": np.int32}
        cols: dict[str, np.ndarray] = {}
        for name, dt in new.items():
            arr = np.zeros(cap, dt)
            if self._n:
                arr[:self._n] = self.cols[name][:self._n]
            cols[name] = arr
        alive = np.zeros(cap, bool)
        alive[:self._n] = self.alive[:self._n]
        self.cols, self.alive, self._cap = cols, alive, cap

    @property
    def next_id(self) -> int:
        return self._n

    @property
    def count(self) -> int:
        return int(self.alive[:self._n].sum())

    def live_ids(self) -> np.ndarray:
        return np.flatnonzero(self.alive[:self._n]).astype(np.int64)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        ok = (ids >= 0) & (ids < self._n)
        out = np.zeros(len(ids), bool)
        out[ok] = self.alive[ids[ok]]
        return out

    def require(self, ids: np.ndarray) -> None:
        bad = np.asarray(ids, np.int64)[~self.contains(ids)]
        if len(bad):
            raise IndexError_(f"unknown prototype id(s) {bad[:5].tolist()}" + (" ..." if len(bad) > 5 else ""),
                              ids=bad.tolist())

    def _put(self, row: int, m: PrototypeMeta) -> None:
        c = self.cols
        c["workflow"][row] = self.strings["workflow"].code(m.workflow)
        c["step"][row] = m.step
        c["kind"][row] = self.strings["kind"].code(m.kind)
        c["label"][row] = self.strings["label"].code(m.label)
        c["created"][row] = m.created
        c["source"][row] = self.strings["source"].code(m.source)

    def append(self, metas: Sequence[PrototypeMeta]) -> np.ndarray:
        """Rows for new prototypes; returns their ids (the caller commits them with ``set_alive``)."""
        n = len(metas)
        if self._n + n > self._cap:
            self._alloc(max(self._n + n, int(self._cap * 1.5) + 1024))
        ids = np.arange(self._n, self._n + n, dtype=np.int64)
        rows = slice(self._n, self._n + n)
        c, st = self.cols, self.strings
        for name in STRING_COLUMNS:
            code = st[name].code
            c[name][rows] = [code(getattr(m, name)) for m in metas]
        c["step"][rows] = [m.step for m in metas]
        c["created"][rows] = [m.created for m in metas]
        self._n += n
        return ids

    def set_alive(self, ids: np.ndarray, value: bool) -> None:
        self.alive[np.asarray(ids, np.int64)] = value

    def update(self, id_: int, m: PrototypeMeta) -> None:
        self.require(np.array([id_]))
        self._put(id_, m)

    def get(self, id_: int) -> PrototypeMeta:
        c, s = self.cols, self.strings
        return PrototypeMeta(
            s["workflow"].values[c["workflow"][id_]], int(c["step"][id_]), s["kind"].values[c["kind"][id_]],
            s["label"].values[c["label"][id_]], float(c["created"][id_]), s["source"].values[c["source"][id_]])

    def get_many(self, ids: np.ndarray) -> list[PrototypeMeta | None]:
        ok = self.contains(ids)
        return [self.get(int(i)) if good else None for i, good in zip(ids.tolist(), ok.tolist(), strict=True)]

    def ids_where(self, workflow: str | None = None, step: int | None = None) -> np.ndarray:
        mask = self.alive[:self._n].copy()
        if workflow is not None:
            code = self.strings["workflow"].codes.get(workflow)
            if code is None:
                return np.zeros(0, np.int64)
            mask &= self.cols["workflow"][:self._n] == code
        if step is not None:
            mask &= self.cols["step"][:self._n] == step
        return np.flatnonzero(mask).astype(np.int64)

    def nbytes(self) -> int:
        arrays = sum(a.nbytes for a in self.cols.values()) + self.alive.nbytes
        strings = sum(sum(len(v) + 60 for v in s.values) for s in self.strings.values())
        return int(arrays + strings)

    # persistence -------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {name: a[:self._n].copy() for name, a in self.cols.items()}
        arrays["alive"] = self.alive[:self._n].copy()
        return arrays, {c: self.strings[c].values for c in STRING_COLUMNS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], strings: dict[str, list[str]]) -> MetaStore:
        """Rebuild from ``to_arrays`` output; raises ``ValueError``/``KeyError`` on inconsistent input."""
        st = cls()
        n = len(arrays["alive"])
        for name in ("workflow", "step", "kind", "label", "created", "source"):
            if len(arrays[name]) != n:
                raise ValueError(f"column {name} has {len(arrays[name])} rows, expected {n}")
        for c in STRING_COLUMNS:
            vals = strings[c]
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                raise ValueError(f"string table {c} is malformed")
            codes = arrays[c]
            if n and (len(vals) == 0 or codes.min() < 0 or codes.max() >= len(vals)):
                raise ValueError(f"column {c} has codes outside its string table")
            st.strings[c] = _Strings(vals)
        st._alloc(n)
        st._n = n
        for name in ("workflow", "step", "kind", "label", "created", "source"):
            st.cols[name][:n] = arrays[name]
        st.alive[:n] = arrays["alive"].astype(bool)
        return st
