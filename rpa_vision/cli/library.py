"""The workflow library on the command line: list, show, delete, restore, rename, export, import."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rpa_vision.core.paths import Paths

if TYPE_CHECKING:
    from rpa_vision.workflow.store import WorkflowStore


def _store(args: argparse.Namespace) -> WorkflowStore:
    from rpa_vision.workflow.store import WorkflowStore

    return WorkflowStore(Paths.resolve(args.home))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "?"


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    items = store.summaries()
    if args.json:
        print(json.dumps([s.to_json() for s in items], indent=2))
        return 0
    if not items:
        print(f"no workflows in {store.root}")
        return 0
    width = max(len(s.name) for s in items)
    for s in items:
        if s.error:
            print(f"{s.name:<{width}}  BROKEN: {s.error}")
        else:
            print(f"{s.name:<{width}}  {s.steps:>3} steps  {s.screen_wh[0]}x{s.screen_wh[1]}  {_when(s.created)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    wf = store.load(args.name, check_files=False)
    folder = store.folder(wf.name)
    missing = [f for f in dict.fromkeys(wf.files()) if not (folder / f).is_file()]
    if args.json:
        doc = wf.to_json()
        for s in doc["steps"]:
            for k in ("before", "after"):
                if s.get(k):
                    s[k].pop("vector", None)  # base64 noise; the dimension stays
        doc["folder"] = str(folder)
        doc["missing_files"] = missing
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    print(f"{wf.name}: {len(wf.steps)} steps, recorded {_when(wf.created)} on a "
          f"{wf.screen.width}x{wf.screen.height} screen (scale {wf.screen.scale:g})")
    print(f"folder: {folder}")
    if wf.encoder:
        print("state encoder: " + ", ".join(f"{k}={v}" for k, v in wf.encoder.items()))
    for s in wf.steps:
        extra = ""
        if s.target is not None:
            b = s.target.xyxy
            extra = f"  box {int(b.x1)},{int(b.y1)},{int(b.x2)},{int(b.y2)}"
            if s.target.prototypes:
                extra += f"  +{len(s.target.prototypes)} healed"
        wait = f"  (after {s.delay_s:.1f} s)" if s.delay_s >= 0.5 else ""
        print(f"  {s.index + 1:>3}. {s.describe()}{extra}{wait}")
    if missing:
        print(f"warning: {len(missing)} file(s) missing: {', '.join(missing[:5])}")
        return 1
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store(args)
    store.delete(args.name)
    print(f"moved {args.name!r} to the trash (undo: rpa-vision restore {args.name!r})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    folder = _store(args).restore(args.name)
    print(folder)
    return 0


def _rename(args: argparse.Namespace) -> int:
    folder = _store(args).rename(args.old, args.new)
    print(folder)
    return 0


def _export(args: argparse.Namespace) -> int:
    dest = _store(args).export(args.name, Path(args.file) if args.file else Path.cwd())
    print(dest)
    return 0


def _import(args: argparse.Namespace) -> int:
    folder = _store(args).import_(Path(args.file), name=args.name)
    print(folder)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the recorded workflows")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_list)

    p = sub.add_parser("show", help="show the steps of a workflow")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="the workflow document (without state vectors)")
    p.set_defaults(func=_show)

    p = sub.add_parser("delete", help="move a workflow to the trash (undo with restore)")
    p.add_argument("name")
    p.set_defaults(func=_delete)

    p = sub.add_parser("restore", help="bring back the last deleted workflow of that name")
    p.add_argument("name")
    p.set_defaults(func=_restore)

    p = sub.add_parser("rename", help="rename a workflow")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=_rename)

    p = sub.add_parser("export", help="write a workflow into a zip file")
    p.add_argument("name")
    p.add_argument("file", nargs="?", help="zip file or folder (default: NAME.zip here)")
    p.set_defaults(func=_export)

    p = sub.add_parser("import", help="add a workflow from a zip file made by export")
    p.add_argument("file")
    p.add_argument("--name", help="import under another name")
    p.set_defaults(func=_import)
