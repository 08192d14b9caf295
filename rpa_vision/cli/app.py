"""``rpa-vision app``: start the desktop app."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from ui.app import main

    return main(home=args.home)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="start the desktop app")
    p.set_defaults(func=run)
