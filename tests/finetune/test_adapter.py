from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rpa_vision.core.errors import CorruptFileError, ProvenanceMismatchError, ValidationError
from rpa_vision.finetune import Adapter


def test_identity_changes_nothing_but_normalises() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    ad = Adapter.identity(8)
    y = ad.apply(x)
    assert ad.is_identity
    np.testing.assert_allclose(y, x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-6)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ad = Adapter(rng.normal(size=(4, 4)).astype(np.float32) * 0.1, np.ones(4, np.float32) * 0.01, 3,
                 {"name": "builtin", "dim": 4}, {"val_accuracy": 0.9})
    ad.save(tmp_path / "a.npz")
    back = Adapter.load(tmp_path / "a.npz")
    assert back.version == 3 and back.encoder["name"] == "builtin" and back.metrics["val_accuracy"] == 0.9
    x = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(back.apply(x), ad.apply(x), rtol=1e-6)


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(CorruptFileError):
        Adapter.load(p)


def test_dimension_mismatch_names_the_way_out() -> None:
    ad = Adapter.identity(8, {"name": "builtin", "dim": 8})
    with pytest.raises(ProvenanceMismatchError, match="finetune run"):
        ad.apply(np.zeros((1, 16), np.float32))
    with pytest.raises(ProvenanceMismatchError):
        ad.check_encoder({"name": "clip", "dim": 8})


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValidationError):
        Adapter(np.zeros((3, 4), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValidationError):
        Adapter(np.full((2, 2), np.nan, np.float32), np.zeros(2, np.float32))


def _write_v1_file(path: Path, weight: np.ndarray, bias: np.ndarray, meta: dict[str, object]) -> None:
    """An adapter file in the layout schema 1 has always used (weight, bias, meta as UTF-8 JSON bytes)."""
    import json

    np.savez_compressed(path, weight=weight, bias=bias,
                        meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))


def test_adapter_files_of_earlier_versions_still_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    w = (rng.normal(size=(6, 6)) * 0.1).astype(np.float32)
    b = (rng.normal(size=6) * 0.01).astype(np.float32)
    _write_v1_file(tmp_path / "v1.npz", w, b, {"schema_version": 1, "version": 4, "encoder": {"name": "builtin"},
                                                "metrics": {"val_accuracy": 1.0}, "created": 1.0})
    ad = Adapter.load(tmp_path / "v1.npz")
    assert ad.version == 4 and ad.dim == 6 and ad.metrics["val_accuracy"] == 1.0
    x = rng.normal(size=(2, 6)).astype(np.float32)
    want = x + x @ w.T + b
    np.testing.assert_allclose(ad.apply(x), want / np.linalg.norm(want, axis=1, keepdims=True), rtol=1e-5)


def test_adapter_file_of_an_unknown_schema_is_refused_clearly(tmp_path: Path) -> None:
    from rpa_vision.core.errors import SchemaVersionError

    _write_v1_file(tmp_path / "v9.npz", np.zeros((2, 2), np.float32), np.zeros(2, np.float32),
                   {"schema_version": 9, "version": 1})
    with pytest.raises(SchemaVersionError, match="schema version 9 is not supported"):
        Adapter.load(tmp_path / "v9.npz")
