"""``rpa-vision locate``: find a target image, or the element at a box of a reference screenshot,
on the live screen or on a screenshot. Prints candidates best first (``--json``: a list of
``{xyxy, confidence, score, evidence, scale}`` in the screen's pixels). Exit 0 when a candidate was
found, 1 when none."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpa_vision.core.errors import CorruptFileError, StorageError, ValidationError
from rpa_vision.core.geometry import Box

if TYPE_CHECKING:
    import numpy as np


def _read_png(path: str, what: str) -> np.ndarray:
    import cv2

    p = Path(path)
    if not p.is_file():
        raise StorageError(f"{what} {path}: no such file", path=p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StorageError(f"{what} {path}: cannot read ({exc.strerror or exc})", path=p) from exc
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None or img.size == 0:
        raise CorruptFileError(p, f"{what} is not a readable image")
    return img


def _screen(args: argparse.Namespace) -> Any:
    if args.screen:
        return _read_png(args.screen, "screenshot")
    from rpa_vision.capture import create_screen_source

    src = create_screen_source("mss")
    try:
        return src.grab()
    finally:
        src.close()


def _target(args: argparse.Namespace) -> Any:
    from rpa_vision.locate import TargetSpec

    if args.reference and args.target:
        raise ValidationError("give either TARGET.png or --reference with --box, not both", field="target")
    if args.reference:
        if not args.box:
            raise ValidationError("--reference needs --box X1,Y1,X2,Y2", field="box")
        box = Box.parse(args.box)
        ref = _read_png(args.reference, "reference")
        return TargetSpec.from_reference(ref, box, text=args.text)
    if args.box:
        raise ValidationError("--box needs --reference REF.png", field="box")
    if not args.target:
        raise ValidationError("give TARGET.png, or --reference REF.png --box X1,Y1,X2,Y2", field="target")
    crop = _read_png(args.target, "target")
    h, w = crop.shape[:2]
    return TargetSpec(crop, Box(0, 0, w, h), text=args.text)


def run(args: argparse.Namespace) -> int:
    from rpa_vision.core.paths import Paths
    from rpa_vision.locate import LocatorConfig
    from rpa_vision.workflow.runtime import adapted_locator

    if args.top < 1:
        raise ValidationError(f"--top must be >= 1, got {args.top}", field="top")
    target = _target(args)
    screen = _screen(args)
    # the same locator a replay uses: default encoder + the user's current fine-tuned adapter
    locator = adapted_locator(Paths.resolve(args.home), LocatorConfig(use_ocr=not args.no_ocr))
    cands = locator.locate(target, screen, top_k=args.top)
    if args.json:
        print(json.dumps([c.to_json() for c in cands], indent=2))
    elif not cands:
        print("no candidate found")
    else:
        print(f"{'#':>2}  {'confidence':>10}  {'score':>6}  {'scale':>5}  xyxy / evidence")
        for i, c in enumerate(cands, 1):
            xyxy = ",".join(f"{v:.0f}" for v in c.box.as_tuple())
            ev = " ".join(f"{k}={v:.2f}" for k, v in sorted(c.evidence.items()))
            print(f"{i:>2}  {c.confidence:>10.3f}  {c.score:>6.3f}  {c.scale:>5.2f}  {xyxy}  {ev}")
    return 0 if cands else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "locate",
        help="find a target image (or the element at a box of a reference screenshot) on the screen",
        description="Find TARGET.png, or the element at --box of --reference (using its surroundings too), on "
        "the live screen or on --screen. Candidates best first; exit 0 when one was found, 1 when none.",
    )
    p.add_argument("target", nargs="?", metavar="TARGET.png", help="an image of the element to find")
    p.add_argument("--reference", metavar="REF.png", help="a recorded full screenshot holding the element")
    p.add_argument("--box", metavar="X1,Y1,X2,Y2", help="the element's box in the reference's pixels")
    p.add_argument("--screen", metavar="SHOT.png", help="search this screenshot instead of the live screen")
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many candidates to print (default 5)")
    p.add_argument("--text", default=None, help="the element's text, when known (else read by OCR)")
    p.add_argument("--no-ocr", action="store_true", help="do not read text (faster)")
    p.add_argument("--json", action="store_true", help="print a JSON list of candidates, best first")
    p.set_defaults(func=run)
