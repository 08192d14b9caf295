"""Bad input gets one clear error (or a documented repair) and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import IndexError_, ValidationError
from rpa_vision.index import (
    IndexConfig,
    Matcher,
    PrototypeCache,
    PrototypeIndex,
    PrototypeMeta,
    Provenance,
    UnnormalizedVectorWarning,
)

from .helpers import clustered, metas

D = 16


@pytest.fixture()
def ix() -> PrototypeIndex:
    i = PrototypeIndex(Provenance("t", D))
    i.add(clustered(20, D), metas(20))
    return i


def test_wrong_dimension(ix: PrototypeIndex) -> None:
    with pytest.raises(ValidationError, match="dimension 8"):
        ix.add(np.ones((2, 8), np.float32), metas(2))
    with pytest.raises(ValidationError, match="dimension"):
        ix.search(np.ones((1, 17), np.float32), 3)
    with pytest.raises(ValidationError, match="shape"):
        ix.add(np.ones((2, 2, D), np.float32), metas(2))
    assert len(ix) == 20


def test_nan_inf_zero_rows(ix: PrototypeIndex) -> None:
    bad = clustered(3, D, seed=1)
    bad[1, 2] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        ix.add(bad, metas(3))
    bad[1, 2] = np.inf
    with pytest.raises(ValidationError, match="NaN or infinite"):
        ix.search(bad, 1)
    with pytest.raises(ValidationError, match="all-zero"):
        ix.add(np.zeros((1, D), np.float32), metas(1))
    with pytest.raises(ValidationError, match="numeric"):
        ix.add([["a"] * D], metas(1))
    assert len(ix) == 20


def test_unnormalised_is_normalised_with_a_warning_or_rejected(ix: PrototypeIndex) -> None:
    v = clustered(1, D, seed=2) * 3.0
    with pytest.warns(UnnormalizedVectorWarning):
        (id_,) = ix.add(v, metas(1))
    np.testing.assert_allclose(np.linalg.norm(ix.get(int(id_)).vector), 1.0, atol=1e-6)
    strict = PrototypeIndex(Provenance("t", D), IndexConfig(on_unnormalized="reject"))
    with pytest.raises(ValidationError, match="not L2-normalised"):
        strict.add(v, metas(1))
    assert len(strict) == 0
    with pytest.raises(ValidationError, match="on_unnormalized"):
        IndexConfig(on_unnormalized="maybe")  # type: ignore[arg-type]


def test_unknown_ids(ix: PrototypeIndex) -> None:
    with pytest.raises(IndexError_, match="unknown prototype id"):
        ix.remove([3, 999])
    assert 3 in ix and len(ix) == 20  # nothing removed
    with pytest.raises(IndexError_):
        ix.update(-1, clustered(1, D))
    with pytest.raises(IndexError_):
        ix.get(500)
    ix.remove([3])
    with pytest.raises(IndexError_):
        ix.remove([3])  # already gone


def test_bad_metadata(ix: PrototypeIndex) -> None:
    v = clustered(2, D, seed=3)
    with pytest.raises(ValidationError, match="2 vectors but 1 metadata"):
        ix.add(v, metas(1))
    with pytest.raises(ValidationError, match="workflow"):
        ix.add(v[:1], [{"step": 1}])
    with pytest.raises(ValidationError, match="step"):
        ix.add(v[:1], [{"workflow": "a", "step": -1}])
    with pytest.raises(ValidationError, match="unknown metadata"):
        ix.add(v[:1], [{"workflow": "a", "step": 1, "colour": "red"}])
    with pytest.raises(ValidationError):
        PrototypeMeta("", 0)
    assert len(ix) == 20


def test_bad_k_and_config(ix: PrototypeIndex) -> None:
    q = clustered(1, D)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValidationError):
            ix.search(q, k)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        IndexConfig(ivf_threshold=0)
    with pytest.raises(ValidationError):
        IndexConfig(retrain_growth=1.0)
    with pytest.raises(ValidationError):
        Provenance("t", 0)
    with pytest.raises(ValidationError):
        PrototypeCache(ix, max_entries=0)
    with pytest.raises(ValidationError):
        Matcher(ix).match(q[0], k=0)


def test_base_vectors_rules() -> None:
    plain = PrototypeIndex(Provenance("t", D))
    with pytest.raises(ValidationError, match="adapter v0"):
        plain.add(clustered(1, D), metas(1), base=clustered(1, D))
    adapted = PrototypeIndex(Provenance("t", D, adapter_version=2))
    with pytest.raises(ValidationError, match="base="):
        adapted.add(clustered(1, D), metas(1))
    with pytest.raises(ValidationError, match="base vectors"):
        adapted.add(clustered(2, D), metas(2), base=clustered(1, D))
