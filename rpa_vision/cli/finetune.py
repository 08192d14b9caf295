"""``rpa-vision finetune status|run|rollback``: the fine-tuner from the command line."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from rpa_vision.core.paths import Paths


def _tuner(args: argparse.Namespace) -> Any:
    from rpa_vision.embedding import create_encoder
    from rpa_vision.finetune import FineTuner

    paths = Paths.resolve(args.home).ensure()
    encoder = create_encoder(args.encoder, home=paths.home)  # a CLIP model cached under the home too
    return FineTuner.for_encoder(paths, encoder, shared=False)


def _status(args: argparse.Namespace) -> int:
    t = _tuner(args)
    st = t.status()
    if args.json:
        d = asdict(st)
        d["versions"] = t.registry.versions()
        print(json.dumps(d, indent=2, default=str))
        return 0
    print(st.line())
    print(f"adapters on disk: {', '.join(f'v{v}' for v in t.registry.versions()) or 'none'} (v0 = identity)")
    for w in st.warnings:
        print(f"warning: {w}")
    for r in t.history()[-5:]:
        acc = ""
        if r.val_accuracy_after is not None:
            acc = f" val acc {r.val_accuracy_before:.2f} -> {r.val_accuracy_after:.2f}"
        print(f"  {r.outcome:<8} {r.examples:>5} examples {r.duration_s:6.2f} s{acc} {r.reason}")
    return 0


def _run(args: argparse.Namespace) -> int:
    t = _tuner(args)
    print(f"training on {len(t.store)} examples ...", flush=True)
    result = t.run()
    verdict = f"swapped in adapter v{result.adapter.version}" if result.improved else "kept the current adapter"
    print(f"validation accuracy {result.before.accuracy:.3f} -> {result.after.accuracy:.3f} "
          f"(loss {result.before.loss:.3f} -> {result.after.loss:.3f}) in {result.duration_s:.2f} s: {verdict}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    t = _tuner(args)
    ad = t.rollback(args.version)
    print(f"adapter v{ad.version} is current{' (identity)' if ad.is_identity else ''}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="the fine-tuner that learns from confirmations and corrections")
    fsub = p.add_subparsers(dest="finetune_command", metavar="ACTION", required=True)
    for name, fn, help_ in (
        ("status", _status, "examples, current adapter, last runs"),
        ("run", _run, "train now (swaps only when the new adapter validates better)"),
        ("rollback", _rollback, "make an earlier adapter version current (0 = identity)"),
    ):
        sp = fsub.add_parser(name, help=help_)
        sp.add_argument("--encoder", default="builtin",
                        help="encoder whose embeddings are adapted (default builtin: the one replays locate with)")
        sp.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="home folder")
        if name == "status":
            sp.add_argument("--json", action="store_true")
        if name == "rollback":
            sp.add_argument("version", type=int, help="adapter version (0 = identity)")
        sp.set_defaults(func=fn)
