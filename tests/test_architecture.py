"""Architecture guards: layers point one way, and importing touches no device, model or file."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "rpa_vision"

# DESIGN.md: ui -> rpa_vision.workflow -> capture/input/roi/embedding/fusion/index/finetune -> core
MIDDLE = {"capture", "input", "roi", "embedding", "fusion", "index", "finetune", "perception", "locate"}
TOP = {"workflow"}
TOOLS = {"cli", "testbed", "__init__", "__main__"}


def _modules(root: Path, package: str) -> list[str]:
    mods = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "testapp" in parts:  # a standalone Qt program, started as its own process
            continue
        mods.append(".".join(parts))
    return mods


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    rel = path.relative_to(LIB)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


@pytest.mark.parametrize("path", sorted(LIB.rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_layers_point_one_way(path: Path) -> None:
    layer = _layer(path)
    for name in _imports(path):
        top = name.split(".")[0]
        if layer != "cli":  # the command line starts the app (lazily, inside `rpa-vision app`)
            assert top not in {"PySide6", "PyQt5", "PyQt6", "ui"}, f"{path}: the library must not import {name}"
        if top != "rpa_vision" or name == "rpa_vision":
            continue
        target = name.split(".")[1]
        if target == layer:
            continue
        if layer == "core":
            assert target == "core", f"{path}: core may import only core, not {name}"
        elif layer == "fusion":
            assert target == "core", f"{path}: fusion is numpy-only and may import only core, not {name}"
        elif layer in MIDDLE:
            assert target not in TOP | {"cli"}, f"{path}: {layer} must not import the upper layer {name}"
        elif layer == "testbed":
            assert target == "core", f"{path}: the test bed may import only core, not {name}"


@pytest.mark.parametrize("path", sorted((LIB / "core").rglob("*.py")) + sorted((LIB / "fusion").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_core_and_fusion_import_numpy_only(path: Path) -> None:
    stdlib = set(sys.stdlib_module_names)
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in stdlib or top in {"numpy", "rpa_vision", "__future__"}, f"{path} imports {name}"


_PROBE = r"""
import importlib, json, os, sys
mods = json.loads(sys.argv[1])
failed = {}
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as exc:
        failed[m] = f"{type(exc).__name__}: {exc}"
heavy = [h for h in ("torch", "open_clip", "pynput", "rapidocr_onnxruntime", "onnxruntime") if h in sys.modules]
qt_app = False
if "PySide6.QtWidgets" in sys.modules:
    from PySide6.QtWidgets import QApplication
    qt_app = QApplication.instance() is not None
print(json.dumps({"failed": failed, "heavy": heavy, "qt_app": qt_app}))
"""


def test_importing_every_module_touches_nothing(tmp_path: Path) -> None:
    mods = _modules(LIB, "rpa_vision") + _modules(REPO / "ui", "ui") + _modules(REPO / "benchmarks", "benchmarks")
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    fake_home = tmp_path / "home"
    fake_home.mkdir()
    env.update(HOME=str(fake_home), RPA_VISION_HOME=str(tmp_path / "rv"), XDG_DATA_HOME=str(tmp_path / "xdg"),
               HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(mods)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["failed"] == {}, out["failed"]
    assert out["heavy"] == [], f"importing modules loaded heavy libraries: {out['heavy']}"
    assert not out["qt_app"], "importing a ui module created a QApplication"
    assert not (tmp_path / "rv").exists(), "importing created the home folder"
    assert list(fake_home.iterdir()) == [], f"importing wrote into HOME: {list(fake_home.iterdir())}"
