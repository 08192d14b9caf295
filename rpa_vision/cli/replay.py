"""``rpa-vision replay NAME``: replay a workflow; exit 0 only when every step succeeded."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.paths import Paths


def _run(args: argparse.Namespace) -> int:
    from rpa_vision.workflow.decisions import TerminalDecisionProvider
    from rpa_vision.workflow.replayer import ReplayConfig, ReplayEvent
    from rpa_vision.workflow.runtime import build_replayer

    if not 0.0 < args.min_confidence <= 1.0:
        raise ValidationError("--min-confidence must be in (0, 1]", field="min_confidence")
    cfg = ReplayConfig(min_confidence=args.min_confidence, on_low_confidence=args.on_low_confidence,
                       dry_run=args.dry_run, state_timeout_s=args.state_timeout,
                       floor_confidence=min(0.35, args.min_confidence), heal=not args.no_heal)

    def progress(ev: ReplayEvent) -> None:
        if args.quiet:
            return
        if ev.kind == "step_finished":
            d = ev.data
            state = "ok" if d.get("ok") else d.get("decision", "")
            msg = f" - {d['message']}" if d.get("message") else ""
            print(f"step {ev.step_index + 1}/{ev.step_count}: {state} ({d.get('decision')}){msg}",
                  file=sys.stderr, flush=True)
        elif ev.kind == "healed":
            print(f"step {ev.step_index + 1}: healed (target found moved or changed; remembered)",
                  file=sys.stderr, flush=True)

    replayer = build_replayer(args.name, Paths.resolve(args.home), TerminalDecisionProvider(), config=cfg,
                              observer=progress, input_backend=args.input, monitor=args.monitor)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        replayer.cancel()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = replayer.run()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        close = getattr(replayer.performer, "close", None)
        if close is not None:
            close()
    if args.report:
        report.write(args.report)
    print(report.summary(), file=sys.stderr)
    return 0 if report.ok else (3 if report.status == "aborted" else 1)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="replay a recorded workflow")
    p.add_argument("name")
    p.add_argument("--on-low-confidence", choices=("ask", "abort", "skip", "accept"), default="ask",
                   help="what to do when unsure (default ask; without a terminal ask aborts)")
    p.add_argument("--min-confidence", type=float, default=0.8, metavar="X",
                   help="act without asking at or above this confidence (default 0.8)")
    p.add_argument("--dry-run", action="store_true", help="locate and report, never act")
    p.add_argument("--report", metavar="FILE", help="write the JSON report here")
    p.add_argument("--state-timeout", type=float, default=10.0, metavar="S",
                   help="how long to wait for the screen to look as recorded (default 10)")
    p.add_argument("--no-heal", action="store_true", help="do not remember moved or changed targets")
    p.add_argument("--input", default="pynput", help="input player backend (pynput, fake)")
    p.add_argument("--monitor", type=int, default=1, help="monitor to replay on (1..N)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_run)
