"""Fusion rules (numpy only): the state vector of a screen and the score of a candidate element.

    vec = state_vector(global_emb, region_embs, region_weights, text_vec, title_vec, FusionConfig())
    score = score_candidate(CandidateEvidence(visual_sim=0.9, text_sim=None, shape_sim=0.8))
"""

from rpa_vision.fusion.candidate import (
    CandidateEvidence,
    evidence_coverage,
    position_similarity,
    score_candidate,
    shape_similarity,
    visual_similarity,
)
from rpa_vision.fusion.config import EVIDENCE_KINDS, FusionConfig
from rpa_vision.fusion.state import pool_regions, state_dim, state_similarity, state_vector, unit

__all__ = [
    "EVIDENCE_KINDS",
    "CandidateEvidence",
    "FusionConfig",
    "evidence_coverage",
    "pool_regions",
    "position_similarity",
    "score_candidate",
    "shape_similarity",
    "state_dim",
    "state_similarity",
    "state_vector",
    "unit",
    "visual_similarity",
]
