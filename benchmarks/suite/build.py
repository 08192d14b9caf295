"""Build the perturbation suite: ``python -m benchmarks.suite.build --out data/suite [--full]``.

Starts Xvfb at 1920x1080 and 3840x2160 (its root window stays black), runs each configuration of
``configs.py`` alone on its screen, waits for a stable picture, and writes per configuration a
folder with ``screen.png`` (the full screen) and ``truth.json`` (elements with stable ids and
boxes in screen pixels, the configuration, its perturbation and its state label), plus
``index.json``. The output folder is replaced atomically.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.suite.configs import SCREENS, SuiteConfig, compact_configs, full_configs
from rpa_vision.core.atomic import atomic_directory, atomic_write_bytes, atomic_write_json
from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.geometry import Box

SCHEMA_VERSION = 1
DESKTOP = "#3b6a8f"


def grab_stable(display: str, *, timeout: float = 4.0) -> np.ndarray:
    """The whole screen (BGR) once two grabs 0.25 s apart are identical (or at the timeout)."""
    import mss

    deadline = time.monotonic() + timeout
    prev: np.ndarray | None = None
    with mss.MSS(display=display) as sct:
        while True:
            shot = np.ascontiguousarray(np.asarray(sct.grab(sct.monitors[1]))[:, :, :3])
            if prev is not None and (np.array_equal(prev, shot) or time.monotonic() > deadline):
                return shot
            prev = shot
            time.sleep(0.25)


def _launch(cfg: SuiteConfig, env: dict[str, str]) -> AbstractContextManager[Any]:
    from rpa_vision.testbed.apps import launch_testapp, launch_xcalc, launch_xgc

    if cfg.app == "xcalc":
        return launch_xcalc(env, **cfg.options)
    if cfg.app == "xgc":
        return launch_xgc(env, **cfg.options)
    return launch_testapp(env, **cfg.options)


def _elements(app: Any, cfg: SuiteConfig, size: tuple[int, int]) -> list[dict[str, Any]]:
    screen = Box(0, 0, size[0], size[1])
    dialog: Box | None = None
    owners: dict[str, str] = {}
    if cfg.app == "qt":
        geo = app.geometry()
        if geo.get("dialog"):
            dialog = Box.from_seq(geo["dialog"]["window"])
        owners = {f"qt/{w['name']}": w["window"] for w in geo["widgets"]}
    out = []
    for el in app.elements():
        if not screen.contains_box(el.box):
            continue  # off screen: not a fair target
        if dialog is not None and owners.get(el.id) == "main" and el.box.intersection(dialog) is not None:
            continue  # hidden under the dialog
        out.append({"id": el.id, "xyxy": [int(v) for v in el.box.as_tuple()], "kind": el.kind,
                    "clickable": el.clickable, "text": el.text})
    return out


def capture_config(cfg: SuiteConfig, display: str, env: dict[str, str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Run one configuration and return its screenshot and truth record."""
    from rpa_vision.testbed.xdotool import XDo

    size = SCREENS[cfg.screen]
    with _launch(cfg, env) as app:
        if cfg.actions:
            by_id = {e.id: e for e in app.elements()}
            xdo = XDo(env)
            for eid in cfg.actions:
                if eid not in by_id:
                    raise RpaVisionError(f"{cfg.name}: no element {eid!r} to click")
                c = by_id[eid].box.center
                xdo.click(int(c.x), int(c.y))
                time.sleep(0.15)
            xdo.mouse_move(size[0] - 5, size[1] - 5)  # keep the pointer off the application
            time.sleep(0.3)
        image = grab_stable(display)
        elements = _elements(app, cfg, size)
        window = [int(v) for v in app.window_box().as_tuple()]
    truth = {
        "schema_version": SCHEMA_VERSION, "config": cfg.name, "app": cfg.app, "perturbation": cfg.perturbation,
        "state": cfg.state, "screen_size": list(size), "scale": float(cfg.options.get("scale", 1.0)),
        "options": cfg.options, "actions": list(cfg.actions), "window": window, "elements": elements,
    }
    return image, truth


def _servers(configs: Sequence[SuiteConfig]) -> Iterator[tuple[str, list[SuiteConfig]]]:
    for key in SCREENS:
        group = [c for c in configs if c.screen == key]
        if group:
            yield key, group


def _capture_with_retry(cfg: SuiteConfig, server: Any, attempts: int = 3) -> tuple[np.ndarray, dict[str, Any], Any]:
    """Capture one configuration; a display that went away (shared machines) gets a fresh server."""
    from rpa_vision.testbed.xvfb import Xvfb

    last: RpaVisionError | None = None
    for _ in range(attempts):
        try:
            image, truth = capture_config(cfg, server.display, server.env)
            return image, truth, server
        except RpaVisionError as exc:
            last = exc
            # start the new server while the old one still holds its display number, so that a
            # number some other process broke is not picked again
            fresh = Xvfb(server.width, server.height).start()
            server.stop()
            server = fresh
            subprocess.run(["xsetroot", "-solid", DESKTOP], env=server.env, check=False)
    raise RpaVisionError(f"{cfg.name}: {last}")


def build(out: Path, configs: Sequence[SuiteConfig], *, log: Any = print) -> list[dict[str, Any]]:
    from rpa_vision.testbed.xvfb import Xvfb

    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise RpaVisionError("duplicate configuration names")
    index: list[dict[str, Any]] = []
    with atomic_directory(out) as tmp:
        for key, group in _servers(configs):
            w, h = SCREENS[key]
            server = Xvfb(w, h).start()
            try:
                subprocess.run(["xsetroot", "-solid", DESKTOP], env=server.env, check=False)
                for cfg in group:
                    t0 = time.monotonic()
                    image, truth, server = _capture_with_retry(cfg, server)
                    ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
                    if not ok:
                        raise RpaVisionError(f"{cfg.name}: PNG encoding failed")
                    folder = tmp / cfg.name
                    folder.mkdir()
                    atomic_write_bytes(folder / "screen.png", png.tobytes())
                    atomic_write_json(folder / "truth.json", truth, indent=1)
                    index.append({"config": cfg.name, "app": cfg.app, "perturbation": cfg.perturbation,
                                  "state": cfg.state, "screen": key, "elements": len(truth["elements"])})
                    log(f"{cfg.name:28s} {len(truth['elements']):3d} elements  {len(png) / 1024:7.0f} KiB"
                        f"  {time.monotonic() - t0:4.1f} s")
            finally:
                server.stop()
        atomic_write_json(tmp / "index.json", {"schema_version": SCHEMA_VERSION, "configs": index}, indent=1)
    return index


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.suite.build", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="data/suite", type=Path)
    p.add_argument("--full", action="store_true", help="also the combinations the compact suite leaves out")
    p.add_argument("--only", nargs="*", default=None, help="configuration names to build (for a quick look)")
    args = p.parse_args(argv)
    configs = full_configs() if args.full else compact_configs()
    if args.only:
        configs = [c for c in configs if c.name in set(args.only)]
    try:
        build(args.out, configs)
    except RpaVisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
