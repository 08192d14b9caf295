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


def _scoped(dim: int = 6) -> Adapter:
    """An adapter that swaps axes 0 and 1, taught on targets along axis 0 only."""
    w = np.zeros((dim, dim), np.float32)
    w[0, 0] = w[1, 1] = -1.0
    w[0, 1] = w[1, 0] = 1.0
    scope = np.zeros((1, dim), np.float32)
    scope[0, 0] = 1.0
    return Adapter(w, np.zeros(dim, np.float32), 1, {}, {}, scope=scope, scope_range=(0.9, 0.97))


def test_scope_decides_where_the_adapter_applies() -> None:
    ad = _scoped()
    taught = np.array([1, 0, 0, 0, 0, 0], np.float32)
    far = np.array([0, 0, 1, 0, 0, 0], np.float32)
    between = np.array([0.93, 0.0, 0.0, 0.3676, 0, 0], np.float32)  # cosine 0.93 to the taught target
    np.testing.assert_allclose(ad.relevance(np.stack([taught, far, between])), [1.0, 0.0, 3 / 7], atol=2e-3)
    cands = np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0.6, 0.8, 0, 0]], np.float32)
    # far from what it was taught: exactly the base similarities
    np.testing.assert_allclose(ad.similarities(far, cands), cands @ far, atol=1e-6)
    # a taught target: exactly the adapted ones
    np.testing.assert_allclose(ad.similarities(taught, cands), ad.apply(cands) @ ad.apply(taught), atol=1e-6)
    # in between: a blend of the two
    base = cands @ (between / np.linalg.norm(between))
    adapted = ad.apply(cands) @ ad.apply(between)
    a = float(ad.relevance(between)[0])
    np.testing.assert_allclose(ad.similarities(between, cands), (1 - a) * base + a * adapted, atol=1e-5)


def test_an_adapter_without_scope_applies_everywhere_and_identity_nowhere() -> None:
    ad = _scoped()
    unscoped = Adapter(ad.weight, ad.bias, 1)
    far = np.array([0, 0, 1, 0, 0, 0], np.float32)
    assert unscoped.relevance(far)[0] == 1.0
    assert Adapter.identity(6).relevance(far)[0] == 0.0


def test_scope_survives_save_and_load_and_older_files_have_none(tmp_path: Path) -> None:
    ad = _scoped()
    ad.save(tmp_path / "a.npz")
    back = Adapter.load(tmp_path / "a.npz")
    assert back.scope is not None and ad.scope is not None
    np.testing.assert_array_equal(back.scope, ad.scope)
    assert back.scope_range == (0.9, 0.97)
    Adapter(ad.weight, ad.bias, 2).save(tmp_path / "old.npz")
    assert Adapter.load(tmp_path / "old.npz").scope is None


def test_bad_scope_is_refused() -> None:
    ad = _scoped()
    with pytest.raises(ValidationError, match="scope"):
        Adapter(ad.weight, ad.bias, scope=np.zeros((2, 5), np.float32))
    with pytest.raises(ValidationError, match="scope_range"):
        Adapter(ad.weight, ad.bias, scope_range=(0.9, 0.5))
