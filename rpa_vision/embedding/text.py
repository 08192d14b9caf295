"""Text vectors that survive OCR errors: hashed character n-grams of normalised text.

``text_vector("Save as…")`` is a float32 unit vector (zeros for empty text). Normalisation:
Unicode NFKC, case folding, whitespace collapsed. Features: character 1-, 2- and 3-grams with
word boundaries, whole words, and the same n-grams of a "confusable-folded" copy of the text
(``0``/``O``, ``1``/``l``/``I``, ``5``/``S``, ``rn``/``m`` ...), so a typical OCR slip changes a
few features instead of the whole vector. Hashing is signed (feature hashing), with a stable
hash (CRC32), so vectors are identical across runs and machines.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from functools import lru_cache

import numpy as np

from rpa_vision.core.errors import ValidationError

DEFAULT_TEXT_DIM = 256
TEXT_VECTOR_VERSION = 1

_WS = re.compile(r"\s+")
_FOLD_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_FOLD_CHARS = str.maketrans({
    "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "5": "s", "8": "b", "2": "z", "6": "b", "9": "g",
    "€": "e", "$": "s", "@": "a", "—": "-", "–": "-", "_": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
})
# (n-gram size, weight) of the two channels
_RAW_GRAMS = ((1, 0.25), (2, 0.6), (3, 1.0))
_FOLDED_GRAMS = ((2, 0.4), (3, 0.6))
_WORD_WEIGHT = 0.8


def normalize_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed and stripped."""
    if not isinstance(text, str):
        raise ValidationError(f"text must be a str, got {type(text).__name__}", field="text")
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def fold_confusables(norm: str) -> str:
    """Map characters OCR often confuses onto one representative (input: ``normalize_text`` output)."""
    s = norm
    for a, b in _FOLD_MULTI:
        s = s.replace(a, b)
    return s.translate(_FOLD_CHARS)


def _grams(s: str, n: int) -> list[str]:
    padded = f" {s} "
    if len(padded) < n:
        return [padded]
    return [padded[i:i + n] for i in range(len(padded) - n + 1)]


def _add(vec: np.ndarray, feature: str, weight: float) -> None:
    h = zlib.crc32(feature.encode("utf-8"))
    idx = h % vec.shape[0]
    sign = 1.0 if (h >> 31) & 1 else -1.0
    vec[idx] += sign * weight


@lru_cache(maxsize=4096)
def _cached(norm: str, dim: int) -> bytes:
    v = np.zeros(dim, np.float64)
    for n, w in _RAW_GRAMS:
        for g in _grams(norm, n):
            _add(v, f"r{n}:{g}", w)
    for word in norm.split(" "):
        _add(v, f"w:{word}", _WORD_WEIGHT)
    folded = fold_confusables(norm)
    for n, w in _FOLDED_GRAMS:
        for g in _grams(folded, n):
            _add(v, f"f{n}:{g}", w)
    nrm = float(np.linalg.norm(v))
    out = (v / nrm if nrm > 0 else v).astype(np.float32)
    return out.tobytes()


def text_vector(text: str, dim: int = DEFAULT_TEXT_DIM) -> np.ndarray:
    """A float32 unit vector of ``dim`` for ``text`` (all zeros for empty or blank text)."""
    if isinstance(dim, bool) or not isinstance(dim, int) or not 8 <= dim <= 65536:
        raise ValidationError(f"dim must be an int in [8, 65536], got {dim!r}", field="dim")
    norm = normalize_text(text)
    if not norm:
        return np.zeros(dim, np.float32)
    return np.frombuffer(_cached(norm, dim), np.float32).copy()


def _levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def text_similarity(a: str, b: str, dim: int = DEFAULT_TEXT_DIM) -> float:
    """Similarity of two texts in [0, 1]: 1 when equal after normalisation, 0 when either is empty.

    The larger of the n-gram cosine and, for short texts (labels), the edit-distance similarity
    of the confusable-folded texts — a one-letter OCR slip in a 3-letter label still scores high.
    """
    na, nb = normalize_text(a), normalize_text(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    cos = float(np.dot(text_vector(na, dim), text_vector(nb, dim)))
    best = max(0.0, cos)
    if max(len(na), len(nb)) <= 40:
        fa, fb = fold_confusables(na), fold_confusables(nb)
        edit = 1.0 - _levenshtein(fa, fb) / max(len(fa), len(fb), 1)
        best = max(best, 0.97 * edit)  # folded-equal is very likely, not certainly, the same text
    return float(min(1.0, best))
