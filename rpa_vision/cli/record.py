"""``rpa-vision record NAME``: record a workflow until the stop hotkey, a signal or the time limit."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.paths import Paths


def _run(args: argparse.Namespace) -> int:
    from rpa_vision.workflow.model import validate_name
    from rpa_vision.workflow.recorder import DEFAULT_SECRET_HOTKEY, DEFAULT_STOP_HOTKEYS, RecorderConfig, parse_hotkey
    from rpa_vision.workflow.runtime import build_recorder
    from rpa_vision.workflow.store import WorkflowExistsError, WorkflowStore

    name = validate_name(args.name)
    if args.max_duration is not None and args.max_duration <= 0:
        raise ValidationError("--max-duration must be > 0 seconds", field="max_duration")
    store = WorkflowStore(Paths.resolve(args.home))
    if store.folder(name).exists() and not args.overwrite:
        raise WorkflowExistsError(name)
    stops = tuple(parse_hotkey(h) for h in args.stop_hotkey) if args.stop_hotkey else DEFAULT_STOP_HOTKEYS
    secret = parse_hotkey(args.secret_hotkey) if args.secret_hotkey else DEFAULT_SECRET_HOTKEY
    cfg = RecorderConfig(stop_hotkeys=stops, secret_hotkey=secret, secret_name=args.secret_name)
    session = build_recorder(name, input_backend=args.input, monitor=args.monitor, config=cfg,
                             use_ocr=not args.no_ocr)
    rec = session.recorder

    def on_signal(signum: int, frame: FrameType | None) -> None:
        rec.stop(signal.Signals(signum).name)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rec.start()
        stop_keys = " or ".join("+".join(h) for h in stops)
        print(f"recording {name!r}: stop with {stop_keys} (or Ctrl+C); secret typing on/off with "
              f"{'+'.join(secret)}" + (f"; at most {args.max_duration:g} s" if args.max_duration else ""),
              file=sys.stderr, flush=True)
        deadline = None if args.max_duration is None else time.monotonic() + args.max_duration
        while not rec.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                rec.stop("time limit")
        wf, folder = rec.save(store, overwrite=args.overwrite)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        session.close()
    if folder is None:
        print(f"nothing was recorded ({rec.stop_reason}); no workflow saved", file=sys.stderr)
        return 1
    print(f"{len(wf.steps)} steps recorded ({rec.stop_reason})", file=sys.stderr)
    print(folder)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a workflow (clicks, typing, hotkeys, scrolls, drags)")
    p.add_argument("name")
    p.add_argument("--max-duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--stop-hotkey", action="append", metavar="KEYS",
                   help="stop hotkey, e.g. ctrl+alt+esc (repeatable; default ctrl+alt+esc and pause)")
    p.add_argument("--secret-hotkey", metavar="KEYS", help="toggles secret typing (default ctrl+shift+f11)")
    p.add_argument("--secret-name", default="secret",
                   help="name of the secret typed while secret typing is on (replay reads RPA_VISION_SECRET_NAME)")
    p.add_argument("--input", default="pynput", help="input listener backend (default pynput)")
    p.add_argument("--monitor", type=int, default=1, help="monitor to watch (1..N)")
    p.add_argument("--no-ocr", action="store_true", help="do not read the text of targets")
    p.add_argument("--overwrite", action="store_true", help="replace a workflow of the same name")
    p.set_defaults(func=_run)
