"""The Locator on real xcalc under Xvfb: a button cropped at default colours, found again after the
window moved and after colours and font changed; never confidently wrong."""

from __future__ import annotations

import shutil

import pytest

from rpa_vision.locate import Locator, LocatorConfig, TargetSpec
from rpa_vision.locate.evaluation import hit

pytestmark = pytest.mark.e2e

needs_xcalc = pytest.mark.skipif(
    shutil.which("xcalc") is None or shutil.which("xdotool") is None or shutil.which("xwininfo") is None,
    reason="xcalc, xdotool and xwininfo are needed",
)

KEYS = (12, 21, 31, 39)  # four keypad buttons, row by row


@pytest.fixture(scope="module")
def recorded(xvfb):
    from benchmarks.cases.locate import xcalc_shot

    ref, keys = xcalc_shot(xvfb, [])
    if len(keys) != 40:
        pytest.skip(f"xcalc keypad not recognised ({len(keys)} buttons)")
    return ref, keys


@needs_xcalc
@pytest.mark.parametrize(
    ("variant", "args", "must_find"),
    [
        ("moved", ["-geometry", "+700+300"], True),
        ("colours", ["-fg", "yellow", "-bg", "navy"], False),
        ("font", ["-fn", "-*-helvetica-bold-r-*-*-14-*-*-*-*-*-*-*"], False),
    ],
)
def test_xcalc_button_found_again(xvfb, recorded, variant, args, must_find) -> None:
    from benchmarks.cases.locate import xcalc_shot

    ref, ref_keys = recorded
    screen, keys = xcalc_shot(xvfb, args)
    assert len(keys) == len(ref_keys)
    loc = Locator(config=LocatorConfig(use_ocr=False))
    threshold = loc.config.act_threshold
    found = 0
    for i in KEYS:
        res = loc.locate(TargetSpec.from_reference(ref, ref_keys[i]), screen)
        assert res, f"{variant}: nothing found for key {i}"
        ok = hit(res[0].box, keys[i])
        found += ok
        assert ok or res[0].confidence < threshold, f"{variant}: key {i} confidently wrong at {res[0].box}"
        if must_find:
            assert ok and res[0].confidence >= threshold, (variant, i, res[0])
    assert found >= len(KEYS) // 2, f"{variant}: only {found}/{len(KEYS)} keys found"
