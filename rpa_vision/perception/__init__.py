"""Perception: a frame in, its regions, global embedding and state vector out (with caches).

    perceiver = Perceiver(create_encoder("builtin"))
    screen = perceiver.perceive(frame)              # regions, state_vector, global_embedding
    vecs = screen.region_embeddings([0, 3])         # embedded on first use
"""

from rpa_vision.perception.config import PerceiverConfig
from rpa_vision.perception.perceiver import Perceiver, PerceptionError
from rpa_vision.perception.pixels import fit_bgr, region_pixels, thumbnail
from rpa_vision.perception.screen import PerceivedScreen

__all__ = [
    "PerceivedScreen",
    "Perceiver",
    "PerceiverConfig",
    "PerceptionError",
    "fit_bgr",
    "region_pixels",
    "thumbnail",
]
