"""The prototype index: FAISS over unit vectors with metadata, persistence, cache and matcher.

    prov = Provenance.from_encoder(encoder)            # encoder, weights, dim, adapter version
    index = PrototypeIndex(prov)                       # Flat, migrates itself to IVF past 10k
    ids = index.add(vectors, [{"workflow": "calc", "step": 3}, ...])
    scores, ids, metadata = index.search(queries, k=5)
    save_index(index, paths.index); index, report = load_index(paths.index, expected=prov)
    matches = Matcher(index, PrototypeCache(index)).match(state_vector)   # (workflow, step), confidence
"""

from rpa_vision.index.cache import PrototypeCache, PrototypeCacheStats
from rpa_vision.index.faiss_index import PrototypeIndex
from rpa_vision.index.matcher import Match, MatchConfig, Matcher, confidence
from rpa_vision.index.persistence import LoadReport, load_index, save_index
from rpa_vision.index.rebuild import PrototypeSource, RebuildResult, rebuild_index
from rpa_vision.index.reference import BruteForceIndex
from rpa_vision.index.types import (
    SCHEMA_VERSION,
    Hit,
    IndexConfig,
    PrototypeMeta,
    PrototypeRecord,
    Provenance,
    SearchResult,
    UnnormalizedVectorWarning,
    choose_nlist,
    choose_nprobe,
)

__all__ = [
    "SCHEMA_VERSION",
    "BruteForceIndex",
    "Hit",
    "IndexConfig",
    "LoadReport",
    "Match",
    "MatchConfig",
    "Matcher",
    "PrototypeCache",
    "PrototypeCacheStats",
    "PrototypeIndex",
    "PrototypeMeta",
    "PrototypeRecord",
    "PrototypeSource",
    "Provenance",
    "RebuildResult",
    "SearchResult",
    "UnnormalizedVectorWarning",
    "choose_nlist",
    "choose_nprobe",
    "confidence",
    "load_index",
    "rebuild_index",
    "save_index",
]
