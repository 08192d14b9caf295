"""The Locator: find a recorded element again on the current screen.

``Locator().locate(TargetSpec.from_reference(ref, box), screen)`` returns ``Candidate`` values,
best first, each with a box in the screen's pixels and a ``confidence`` in [0, 1].

What confidence means: the estimated probability that this candidate is the recorded element.
It is a logistic function of the fused score, the margin to the best non-overlapping runner-up
(two look-alikes that cannot be told apart both get a low confidence) and the surroundings
similarity, fitted on the calibration set (synthetic GUI scenes and xcalc under Xvfb with
moves, rescales 1.25-2x, dark themes, colour and font changes, look-alikes and absent targets;
see ``benchmarks/cases/locate.py``) and checked on the perturbation suite (a sample of its
pairs plus elements sought on another application's screen): there the answers at 0.8 and above
were right 100% of the time, and no absent target reached 0.8. The mapping leans towards asking
(the low bins are under-confident) because a wrong click costs more than a question. At the
default ``act_threshold`` of 0.8 a caller may act without asking; below it the replayer should
ask. When the element is absent, the best candidate's confidence is low.

Evidence keys of a candidate: ``template`` (exact appearance), ``shape``, ``position`` (last
box, anchors, place on the screen), ``layout`` (where the fitted recorded window puts the
target), ``context`` (surroundings), ``embedding``, ``text`` and ``margin``.
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
