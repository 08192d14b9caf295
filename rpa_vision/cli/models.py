"""``rpa-vision models status|download|import``: CLIP weights on this machine.

Nothing here runs at start-up: a download happens only when the user asks for one.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from rpa_vision.core.errors import StorageError, ValidationError, WeightsUnavailableError
from rpa_vision.core.paths import Paths


def _status(args: argparse.Namespace) -> int:
    from rpa_vision.embedding.clip_weights import how_to_get, resolve_clip_weights

    loc = resolve_clip_weights(args.model, args.pretrained, args.home)
    info = {"model": loc.model, "pretrained": loc.pretrained, "found": loc.found,
            "path": str(loc.path) if loc.path else None, "source": loc.source,
            "models_folder": str(Paths.resolve(args.home).models)}
    if args.json:
        print(json.dumps(info, indent=2))
    elif loc.found:
        print(f"clip {loc.model}/{loc.pretrained}: found ({loc.source}) at {loc.path}")
    else:
        print(f"clip: {how_to_get(loc.model, loc.pretrained, args.home)}")
    return 0 if loc.found else 1


def _download(args: argparse.Namespace) -> int:
    from rpa_vision.embedding.clip_weights import download_clip_weights

    if args.name != "clip":
        raise ValidationError(f"unknown model family {args.name!r}; valid: clip", field="name")
    print(f"downloading {args.model}/{args.pretrained} into {Paths.resolve(args.home).models / 'open_clip'} ...")
    path = download_clip_weights(args.model, args.pretrained, args.home)
    print(f"ok: {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    """Copy a weights file into RPA_VISION_HOME/models/<model>/<tag>/ so 'auto' finds it."""
    src = Path(args.file).expanduser()
    if not src.is_file():
        raise WeightsUnavailableError(f"no such weights file {src}")
    if src.suffix not in (".safetensors", ".bin", ".pt", ".pth"):
        raise ValidationError(f"{src.name}: expected a .safetensors, .bin, .pt or .pth file", field="file")
    if args.check:
        from rpa_vision.embedding import create_encoder

        create_encoder("clip", model=args.model, pretrained=str(src), device="cpu")  # fails clearly on a mismatch
    folder = Paths.resolve(args.home).models / args.model / args.pretrained
    name = "open_clip_model.safetensors" if src.suffix == ".safetensors" else "open_clip_pytorch_model.bin"
    target = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(target)
    except OSError as exc:
        raise StorageError(f"cannot copy {src} to {target}: {exc.strerror or exc}", path=target) from exc
    print(f"ok: {target}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from rpa_vision.embedding.clip_weights import DEFAULT_MODEL, DEFAULT_PRETRAINED

    p = sub.add_parser("models", help="model weights: where they are, download (explicit), import a file")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    specs = (
        ("status", _status, "is the CLIP model's weights file on this machine (no network)"),
        ("download", _download, "download CLIP weights now (needs network; never done implicitly)"),
        ("import", _import, "copy a local weights file into the home folder's models/"),
    )
    for name, fn, help_ in specs:
        sp = msub.add_parser(name, help=help_)
        if name == "download":
            sp.add_argument("name", choices=["clip"], help="which model family (clip)")
        if name == "import":
            sp.add_argument("file", help="a .safetensors/.bin/.pt checkpoint of the open_clip model")
            sp.add_argument("--check", action="store_true", help="load it once to verify it fits the model")
        sp.add_argument("--model", default=DEFAULT_MODEL, help=f"open_clip model name (default {DEFAULT_MODEL})")
        sp.add_argument("--pretrained", default=DEFAULT_PRETRAINED,
                        help=f"pretrained tag (default {DEFAULT_PRETRAINED})")
        sp.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="home folder")
        if name == "status":
            sp.add_argument("--json", action="store_true")
        sp.set_defaults(func=fn)
