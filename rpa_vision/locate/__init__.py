"""The Locator: find a recorded element again on the current screen.

``Locator().locate(TargetSpec.from_reference(ref, box), screen)`` returns ``Candidate`` values,
best first, each with a box in the screen's pixels and a ``confidence`` in [0, 1].

What confidence means: the estimated probability that this candidate is the recorded element.
It is a logistic function of the fused score, the margin to the best non-overlapping runner-up
(two look-alikes that cannot be told apart both get a low confidence) and the surroundings
similarity, fitted on the calibration set (synthetic GUI scenes and xcalc under Xvfb with
moves, rescales 1.25-2x, dark themes, colour and font changes, look-alikes and absent targets;
see ``benchmarks/cases/locate.py``). At the default ``act_threshold`` of 0.8 a caller may act
without asking; below it the replayer should ask. When the element is absent, the best
candidate's confidence is low.
"""

from rpa_vision.locate.calibration import fit_logistic, reliability
from rpa_vision.locate.config import DEFAULT_WEIGHTS, LocatorConfig
from rpa_vision.locate.locator import Locator
from rpa_vision.locate.types import Anchor, Candidate, LocateError, TargetSpec

__all__ = [
    "DEFAULT_WEIGHTS",
    "Anchor",
    "Candidate",
    "LocateError",
    "Locator",
    "LocatorConfig",
    "TargetSpec",
    "fit_logistic",
    "reliability",
]
