"""The test bed: a virtual X display (Xvfb), xdotool and real applications on it.

Used by the end-to-end tests and by the perturbation-suite builder. Nothing starts at import.
"""

from rpa_vision.testbed.xvfb import Xvfb, XvfbUnavailable, xvfb_available

__all__ = ["Xvfb", "XvfbUnavailable", "xvfb_available"]
