"""Locator figures: latency on a 1080p screen (~100 candidates, builtin encoder, OCR included) and
accuracy / wrong-confident rate per perturbation on the calibration set (drawn scenes, and xcalc
under Xvfb when it is installed)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.geometry import Box
from rpa_vision.locate.evaluation import Case, run_cases, summarize, synthetic_cases

#: xcalc variants of the calibration set: name -> command-line options.
XCALC_VARIANTS: dict[str, list[str]] = {
    "moved": ["-geometry", "+700+300"],
    "colours": ["-fg", "yellow", "-bg", "navy"],
    "font": ["-fn", "-*-helvetica-bold-r-*-*-14-*-*-*-*-*-*-*"],
    "colours_moved": ["-fg", "white", "-bg", "black", "-geometry", "+1100+500"],
}
#: Buttons sought (indices into xcalc's keypad, row by row, 5 per row).
XCALC_BUTTONS = (0, 4, 8, 12, 17, 21, 26, 31, 35, 37, 39)


def _grab(env: dict[str, str]) -> np.ndarray:
    from rpa_vision.capture import create_screen_source

    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = env["DISPLAY"]
    try:
        src = create_screen_source("mss")
        try:
            return src.grab().bgr()
        finally:
            src.close()
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


def xcalc_shot(
    server: Any, args: list[str], app: str = "xcalc", title: str = "Calculator"
) -> tuple[np.ndarray, list[Box]]:
    """A screenshot with ``app`` running (options ``args``) and the boxes of xcalc's keypad buttons
    (row by row; empty for other apps)."""
    from rpa_vision.testbed.apps import start_and_wait
    from rpa_vision.testbed.xdotool import window_tree

    proc, wid = start_and_wait([app, *args], title, server.env, timeout=15)
    try:
        time.sleep(0.8)
        wins = window_tree(wid, server.env) if app == "xcalc" else []
        img = _grab(server.env)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    keys = [w.box for w in wins if w.depth == 1 and 15 <= w.box.width <= 80 and 10 <= w.box.height <= 40]
    keys.sort(key=lambda b: (round(b.y1 / 5), b.x1))
    return img, keys[-40:]


def xcalc_cases(server: Any) -> Iterator[Case]:
    """xcalc at default colours as the recording; found again moved, recoloured, with another
    font; and sought on a screen without xcalc (absent)."""
    ref, ref_keys = xcalc_shot(server, [])
    if len(ref_keys) < 40:
        return
    for name, args in XCALC_VARIANTS.items():
        screen, keys = xcalc_shot(server, args)
        if len(keys) != len(ref_keys):
            continue
        for i in XCALC_BUTTONS:
            yield Case(f"xcalc/{name}", f"key{i}", ref, ref_keys[i], screen, keys[i])
    other, _ = xcalc_shot(server, [], app="xlogo", title="xlogo")
    for i in XCALC_BUTTONS[:6]:
        yield Case("xcalc/absent", f"key{i}", ref, ref_keys[i], other, None)


def suite_cases(limit_per_pair: int = 12, seed: int = 7) -> Iterator[Case]:
    """The perturbation suite (``data/suite``): a deterministic sample of the clickable elements of
    each base screen sought on its perturbed screens (absent when the perturbed screen lacks
    them), then elements of one application sought on another application's screen (absent)."""
    import random

    from benchmarks.suite.load import load_suite

    try:
        suite = load_suite()
    except (OSError, ValueError, KeyError) as exc:  # no suite in this checkout
        del exc
        return
    for ref, other in suite.pairs():
        usable = [e for e in ref.clickable if e.box.width >= 6 and e.box.height >= 6]
        rng = random.Random(f"{seed}:{ref.config}:{other.config}")
        picked = rng.sample(usable, min(limit_per_pair, len(usable)))
        for el in picked:
            twin = other.element(el.id)
            yield Case(f"suite/{other.perturbation}", el.id, ref.image, el.box, other.image,
                       twin.box if twin is not None else None, window=ref.window)
    bases = [s for s in suite if s.perturbation == "base"]
    for ref in bases:
        others = [s for s in bases if s.app != ref.app]
        if not others:
            continue
        rng = random.Random(f"{seed}:absent:{ref.config}")
        usable = [e for e in ref.clickable if e.box.width >= 6 and e.box.height >= 6]
        for el in rng.sample(usable, min(max(1, limit_per_pair // 2), len(usable))):
            other = rng.choice(others)
            yield Case("suite/absent", el.id, ref.image, el.box, other.image, None, window=ref.window)


def _xvfb() -> Any:
    from rpa_vision.testbed import Xvfb, xvfb_available

    if not xvfb_available() or shutil.which("xcalc") is None or shutil.which("xdotool") is None:
        return None
    return Xvfb(1920, 1080)


def calibration_cases(quick: bool = False) -> list[Case]:
    cases = list(synthetic_cases(seed=0))
    cases += list(suite_cases(4 if quick else 12))
    if not quick:
        cases += list(synthetic_cases(seed=1, elements=("cb_hints", "cb_logging", "key_2", "key_9", "btn_cancel",
                                                        "btn_help", "field_name")))
        server = _xvfb()
        if server is not None:
            with server:
                cases += list(xcalc_cases(server))
    return cases


@bench_case("locate_1080p", "locate")
def locate_1080p(ctx: BenchContext) -> None:
    """One locate on a 1920x1080 drawn screen: ~100 candidates, builtin encoder, OCR when installed."""
    from rpa_vision.locate import Locator, TargetSpec
    from rpa_vision.locate.scenes import SceneSpec, perturbed, render_scene

    base = SceneSpec()
    ref, boxes = render_scene(base)
    screen, _ = render_scene(perturbed(base, "moved"))
    loc = Locator()
    targets = [TargetSpec.from_reference(ref, boxes[e]) for e in ("btn_ok", "cb_autosave", "key_5", "field_email")]
    for t in targets:
        loc.locate(t, screen)  # models loaded, target features cached: a replay's steady state
    state = {"i": 0}

    def once() -> None:
        i = state["i"] = state["i"] + 1
        fresh = screen.copy()
        fresh[0, 0, 0] = i % 256  # a new frame each time: no screen cache hit
        loc.locate(targets[i % len(targets)], fresh)

    before = loc.stats()
    ctx.time("locate_p50", once, repeats=ctx.repeats(24, 8), target="<= 150 ms")
    after = loc.stats()
    calls = max(1.0, after["calls"] - before["calls"])
    ctx.value("candidates_per_locate", (after["candidates"] - before["candidates"]) / calls, "candidates")
    ctx.value("ocr_crops_per_locate", (after["ocr_crops"] - before["ocr_crops"]) / calls, "crops")


@bench_case("accuracy", "locate", quick=False)
def accuracy(ctx: BenchContext) -> None:
    """Top-1 accuracy and wrong-confident rate (confidence >= act_threshold but wrong or absent)
    per perturbation on the calibration set."""
    from rpa_vision.locate import Locator

    loc = Locator()
    table = summarize(run_cases(loc, calibration_cases(ctx.quick)), loc.config.act_threshold)
    for group in sorted(table):
        row = table[group]
        if not np.isnan(row["accuracy"]):
            ctx.value(f"accuracy/{group}", row["accuracy"], "ratio", extra={"n": row["n"]})
        ctx.value(f"wrong_confident/{group}", row["wrong_confident"], "ratio",
                  target="== 0" if group == "all" else None, extra={"n": row["n"]})
    ctx.value("auto_rate/all", table["all"]["auto_rate"], "ratio")


def refit(quick: bool = False) -> tuple[float, float, float, float]:
    """Refit ``LocatorConfig.calibration`` on the calibration set: the suite's sample and absent
    cases with OCR, the drawn scenes with and without OCR (quick: fewer suite elements)."""
    from rpa_vision.locate import Locator, LocatorConfig, fit_logistic
    from rpa_vision.locate.evaluation import calibration_rows

    suite = list(suite_cases(3 if quick else 8))
    drawn = list(synthetic_cases(seed=0))
    feats, labels = [], []
    for use_ocr, cases in ((True, suite + drawn), (False, drawn)):
        X, y = calibration_rows(run_cases(Locator(config=LocatorConfig(use_ocr=use_ocr)), cases))
        feats.append(X)
        labels.append(y)
    return fit_logistic(np.vstack(feats), np.concatenate(labels))


if __name__ == "__main__":  # python -m benchmarks.cases.locate: print refitted calibration parameters
    import sys

    print(refit(quick="--quick" in sys.argv))
