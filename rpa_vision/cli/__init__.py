"""The ``rpa-vision`` command line.

Each sub-command lives in its own module in this package and exposes
``register(subparsers)``; modules are discovered, so adding a command touches no other file.
Command modules import heavy libraries (torch, Qt, OpenCV) only inside their handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from rpa_vision import __version__
from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.logging import setup_logging
from rpa_vision.core.paths import ENV_HOME


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"folder for workflows, index, caches and settings (same as {ENV_HOME})",
    )
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpa-vision",
        description="A desktop RPA agent that understands the screen from pixels.",
    )
    parser.add_argument("--version", action="version", version=f"rpa-vision {__version__}")
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            before = set(sub.choices)
            register(sub)
            for name in set(sub.choices) - before:
                _add_common(sub.choices[name])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", 0) or 0)
    home = getattr(args, "home", None)
    if home:
        os.environ[ENV_HOME] = str(home)
    args.home = home
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except RpaVisionError as exc:
        print(f"rpa-vision {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"rpa-vision {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
