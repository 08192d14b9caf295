from __future__ import annotations

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.embedding.text import fold_confusables, normalize_text, text_similarity, text_vector


def test_vector_contract() -> None:
    v = text_vector("Save as…")
    assert v.shape == (256,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert text_vector("x", dim=64).shape == (64,)
    assert not text_vector("").any() and not text_vector("   \n\t").any()


def test_vectors_are_stable_and_normalised() -> None:
    np.testing.assert_array_equal(text_vector("Open File"), text_vector("  open   FILE "))
    np.testing.assert_array_equal(text_vector("Ｏｐｅｎ"), text_vector("Open"))  # NFKC: full-width letters
    a = text_vector("Open")
    a[0] = 42.0  # callers get a copy, never the cached vector
    assert text_vector("Open")[0] != 42.0


@pytest.mark.parametrize(("good", "ocr"), [
    ("Save", "5ave"), ("OK", "0K"), ("Settings", "Setings"), ("modem", "rnodern"), ("Cancel", "CanceI"),
    ("File", "ile"), ("Apply", "AppI"), ("Print preview", "Print previevv"),
])
def test_ocr_slips_keep_similarity_high(good: str, ocr: str) -> None:
    assert text_similarity(good, ocr) >= 0.7


@pytest.mark.parametrize(("a", "b"), [("Open", "Save"), ("sin", "cos"), ("Cancel", "Close"), ("7", "8"),
                                      ("File", "Edit"), ("Yes", "No")])
def test_different_labels_stay_apart(a: str, b: str) -> None:
    assert text_similarity(a, b) < 0.4


def test_vector_cosine_reflects_overlap() -> None:
    base = text_vector("Export selection as PDF")
    close = text_vector("Export selection as PNG")
    far = text_vector("Delete all")
    assert float(base @ close) > 0.6 > float(base @ far)


def test_similarity_edges() -> None:
    assert text_similarity("", "") == 0.0 and text_similarity("x", "") == 0.0
    assert text_similarity("Same", " same ") == 1.0
    assert normalize_text("  A\tB ") == "a b"
    assert fold_confusables("l0o1") == "lool"
    with pytest.raises(ValidationError):
        text_vector(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        text_vector("x", dim=0)
