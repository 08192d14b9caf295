"""``rpa-vision bench``: run the benchmark suite and report figures and same-run ratios."""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

from rpa_vision.core.errors import DependencyMissingError, ValidationError


def run(args: argparse.Namespace) -> int:
    try:
        from benchmarks.harness import discover, format_table, run_cases, write_report
    except ImportError as exc:  # installed without the benchmarks package
        raise DependencyMissingError("benchmarks", f"run from a source checkout ({exc})") from exc

    registry = discover()
    if args.list:
        for key, case in sorted(registry.items()):
            first = case.description.splitlines()[0] if case.description else ""
            print(f"{key:<40} {'quick' if case.quick else 'full '}  {first}")
        return 0
    selected = [
        c for k, c in sorted(registry.items()) if not args.only or any(fnmatch.fnmatch(k, pat) for pat in args.only)
    ]
    if args.quick:
        selected = [c for c in selected if c.quick]
    if not selected:
        raise ValidationError(
            f"no benchmark case matches {args.only}; see `rpa-vision bench --list`", field="only"
        )

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    report = run_cases(selected, quick=args.quick, progress=progress)
    print(format_table(report))
    if args.json:
        write_report(report, Path(args.json))
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if report["errors"] else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark suite (figures and same-run ratios, never pass/fail timing)")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.add_argument("--quick", action="store_true", help="fewer repeats and only the quick cases")
    p.add_argument("--only", nargs="*", metavar="GLOB", help="only cases matching these globs (group/name)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.set_defaults(func=run)
