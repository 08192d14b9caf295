"""``rpa-vision index stats|rebuild``: the prototype index from the command line.

``stats`` loads the saved index (``<home>/index``) and prints its size, type, nlist/nprobe,
memory, provenance and files (``--json`` for tools). ``rebuild`` re-embeds every prototype image
of the workflow library (state thumbnails and target crops, healed looks included) with the
current encoder (the settings' one unless ``--encoder`` says otherwise) and its published fine-tuned
adapter, if any (``--no-adapter``: base embeddings), and saves a new index atomically (the previous
copy stays until it is complete).

The workflow library is read only here (imported lazily), never by ``rpa_vision.index``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rpa_vision.core.errors import IndexError_, RpaVisionError
from rpa_vision.core.paths import Paths


class WorkflowImageSource:
    """A ``PrototypeSource`` over the workflow library: (BGR image, metadata) per stored image."""

    def __init__(self, paths: Paths, names: list[str] | None = None) -> None:
        if importlib.util.find_spec("rpa_vision.workflow.store") is None:
            raise IndexError_("the workflow library (rpa_vision.workflow.store) is not available in this "
                              "version, so there is nothing to rebuild the index from")
        store_mod = importlib.import_module("rpa_vision.workflow.store")
        self.store = store_mod.WorkflowStore(paths)
        self.items: list[tuple[Path, str, dict[str, Any]]] = []
        self.problems: list[str] = []
        for name in names if names is not None else self.store.names():
            try:
                wf = self.store.load(name, check_files=False)
            except RpaVisionError as exc:
                self.problems.append(f"{name}: {exc}")
                continue
            folder = self.store.folder(name)
            for step in wf.steps:
                label = step.describe()
                if step.before is not None:
                    self.items.append((folder, step.before.thumb, {
                        "workflow": wf.name, "step": step.index, "kind": "state", "label": label,
                        "created": float(wf.created), "source": "recorded"}))
                t = step.target
                if t is not None:
                    self.items.append((folder, t.crop, {
                        "workflow": wf.name, "step": step.index, "kind": "target", "label": t.text or label,
                        "created": float(wf.created), "source": "recorded"}))
                    for p in t.prototypes:
                        self.items.append((folder, p.crop, {
                            "workflow": wf.name, "step": step.index, "kind": "target", "label": t.text or label,
                            "created": float(p.added), "source": p.source}))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[np.ndarray, Mapping[str, Any]]]:
        store_mod = importlib.import_module("rpa_vision.workflow.store")
        for folder, fname, meta in self.items:
            try:
                img = store_mod.decode_png(folder / fname)
            except RpaVisionError as exc:
                self.problems.append(f"{meta['workflow']} step {meta['step']}: {exc}")
                continue
            yield img, meta


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


def _stats(args: argparse.Namespace) -> int:
    from rpa_vision.index import load_index

    paths = Paths.resolve(args.home)
    index, report = load_index(paths.index)
    st = index.stats()
    folder = paths.index / f"gen-{report.generation:06d}"
    disk = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0
    st.update({"path": str(paths.index), "generation": report.generation, "disk_bytes": disk,
               "warnings": report.warnings})
    if getattr(args, "encoder", None):
        from rpa_vision.embedding import create_encoder
        from rpa_vision.index import Provenance

        current = Provenance.from_encoder(create_encoder(args.encoder))
        diff = current.differences(index.provenance)
        diff = [d for d in diff if not d.startswith("adapter_version")]
        st["matches_encoder"] = not diff
        st["encoder_differences"] = diff
    if args.json:
        print(json.dumps(st, indent=2, default=str))
        return 0
    prov = index.provenance
    print(f"index: {st['path']} (generation {st['generation']}, {_human(disk)} on disk)")
    print(f"size: {st['size']} prototypes, type {st['type']}"
          + (f", nlist {st['nlist']}, nprobe {st['nprobe']}, trained on {st['trained_on']}" if st["type"] == "ivf"
             else f" (exact; IVF past {st['ivf_threshold']})"))
    print(f"memory: ~{_human(st['memory_bytes'])}")
    print(f"provenance: {prov.describe()} (schema v{prov.schema_version})")
    if "matches_encoder" in st:
        print("encoder: matches" if st["matches_encoder"]
              else f"encoder: DIFFERENT ({'; '.join(st['encoder_differences'])}) - run `rpa-vision index rebuild`")
    for w in report.warnings:
        print(f"warning: {w}")
    return 0


def _current_adapter(paths: Paths, encoder: Any) -> tuple[Callable[[np.ndarray], np.ndarray] | None, int, list[str]]:
    """The fine-tuned adapter published for this encoder (``<home>/adapters``), if any: the rebuilt
    index holds adapted vectors (and keeps the base ones), as the fine-tuner's re-projection does."""
    if not (paths.adapters / "current.json").exists():
        return None, 0, []
    try:
        from rpa_vision.finetune.wiring import shared_registry

        registry = shared_registry(paths, encoder)
    except (ImportError, RpaVisionError, OSError) as exc:
        return None, 0, [f"the fine-tuned adapter was not applied ({exc}); the index holds base embeddings"]
    adapter = registry.current
    notes = [f"adapter: {w}" for w in registry.warnings]
    if adapter.is_identity or adapter.version == 0:
        return None, 0, notes
    return adapter.apply, int(adapter.version), notes


def _rebuild(args: argparse.Namespace) -> int:
    from rpa_vision.core.settings import load_settings
    from rpa_vision.embedding import create_encoder
    from rpa_vision.index import IndexConfig, rebuild_index, save_index

    paths = Paths.resolve(args.home)
    source = WorkflowImageSource(paths)
    if len(source) == 0 and not args.allow_empty:
        raise IndexError_(f"no prototype images found in {paths.workflows} (record a workflow first, "
                          "or pass --allow-empty to save an empty index)")
    encoder = create_encoder(args.encoder or load_settings(paths).settings.encoder)
    adapter, adapter_version, notes = (None, 0, []) if args.no_adapter else _current_adapter(paths, encoder)
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.perf_counter()
        if not args.json and (now - last[0] > 1.0 or done == total):
            last[0] = now
            print(f"  embedded {done}/{total}", file=sys.stderr, flush=True)

    result = rebuild_index(source, encoder, config=IndexConfig(background=False), batch_size=args.batch_size,
                           adapter=adapter, adapter_version=adapter_version, total=len(source), progress=progress)
    folder = save_index(result.index, paths.index)
    took = time.perf_counter() - t0
    problems = [f"{m.get('workflow', '?')} step {m.get('step', '?')}: {why}" for m, why in result.skipped]
    problems += source.problems
    summary = {"path": str(paths.index), "generation_folder": folder.name, "prototypes": result.added,
               "workflows": len({m["workflow"] for _, _, m in source.items}), "skipped": len(problems),
               "problems": problems, "notes": notes, "encoder": result.index.provenance.to_json(),
               "type": result.index.kind, "seconds": round(took, 3)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"rebuilt the index: {result.added} prototypes from {summary['workflows']} workflow(s) with "
              f"{result.index.provenance.describe()} ({result.index.kind}) in {took:.1f} s -> {folder}")
        for p in problems:
            print(f"skipped: {p}")
        for n in notes:
            print(f"note: {n}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="the prototype index: stats, rebuild")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    s = isub.add_parser("stats", help="size, type, nlist/nprobe, memory, provenance of the saved index")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--encoder", default=None, help="also check the index against this encoder (e.g. builtin)")
    s.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="home folder")
    s.set_defaults(func=_stats)
    r = isub.add_parser("rebuild", help="re-embed every stored crop and thumbnail with the current encoder")
    r.add_argument("--encoder", default=None, help="encoder name (default: the one in the settings, else auto)")
    r.add_argument("--no-adapter", action="store_true",
                   help="index base embeddings even when a fine-tuned adapter is published for this encoder")
    r.add_argument("--batch-size", type=int, default=64)
    r.add_argument("--allow-empty", action="store_true", help="save an empty index when there is nothing to embed")
    r.add_argument("--json", action="store_true", help="machine-readable summary")
    r.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="home folder")
    r.set_defaults(func=_rebuild)
