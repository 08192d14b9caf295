"""``rpa-vision doctor``: one line per capability, what works on this machine and what does not."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _check(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Check(name, False, msg)


def _display() -> str:
    disp = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if os.name == "posix" and not disp and not _is_mac():
        raise RuntimeError("no DISPLAY set (run under X11, or Xvfb for tests)")
    return disp or "native"


def _is_mac() -> bool:
    import sys

    return sys.platform == "darwin"


def _capture() -> str:
    from rpa_vision.capture import create_screen_source

    src = create_screen_source("mss")
    try:
        mons = src.monitors()
        t0 = time.perf_counter()
        frame = src.grab()
        ms = (time.perf_counter() - t0) * 1000
    finally:
        src.close()
    n = len(mons) - 1  # mons[0] is the union of all monitors
    return f"mss, {n} monitor{'s' if n != 1 else ''}, monitor 1 {frame.width}x{frame.height} grab {ms:.1f} ms"


def _input() -> str:
    from rpa_vision.input import input_backend_status

    return input_backend_status()


def _version(mod: str) -> str:
    m = importlib.import_module(mod)
    return str(getattr(m, "__version__", "installed"))


def _torch() -> str:
    import torch

    cuda = torch.cuda.is_available()
    return f"torch {torch.__version__}, {'CUDA ' + torch.cuda.get_device_name(0) if cuda else 'CPU only'}"


def _open_clip() -> str:
    from rpa_vision.embedding import clip_weights_status

    return clip_weights_status()


def _faiss() -> str:
    import faiss

    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    return f"faiss {faiss.__version__}, {gpus} GPU(s)"


def _ocr() -> str:
    from rpa_vision.embedding.ocr import ocr_status

    return ocr_status()


def _qt() -> str:
    from ui.platform import qt_platform_status

    return qt_platform_status()


def _home(args: argparse.Namespace) -> str:
    from rpa_vision.core.paths import Paths

    p = Paths.resolve(args.home)
    probe = p.home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise RuntimeError(f"{p.home} cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK):
        raise RuntimeError(f"{p.home} is NOT writable ({probe})")
    return f"{p.home} (writable)"


def collect(args: argparse.Namespace) -> list[Check]:
    return [
        _check("home", lambda: _home(args)),
        _check("display", _display),
        _check("capture", _capture),
        _check("input", _input),
        _check("numpy", lambda: _version("numpy")),
        _check("opencv", lambda: _version("cv2")),
        _check("torch", _torch),
        _check("clip", _open_clip),
        _check("faiss", _faiss),
        _check("ocr", _ocr),
        _check("qt", _qt),
    ]


def run(args: argparse.Namespace) -> int:
    checks = collect(args)
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{'ok ' if c.ok else 'NO '} {c.name:<{width}}  {c.detail}")
    essential = {"home", "numpy", "opencv"}
    return 0 if all(c.ok for c in checks if c.name in essential) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="what works on this machine: display, capture, input, models, FAISS, OCR, Qt")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
