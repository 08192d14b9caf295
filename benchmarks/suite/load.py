"""Read the perturbation suite: ``load_suite()`` -> ``Suite`` of ``SuiteScreen`` records.

    suite = load_suite()                       # data/suite of the repository
    for screen in suite:                       # every screenshot
        screen.image                           # BGR ndarray (loaded on first use, then kept)
        screen.perturbation, screen.state      # "scale", "qt/form"
        for el in screen.elements:             # ground truth, screen pixels
            el.id, el.box, el.kind, el.clickable
    for ref, other in suite.pairs("theme"):    # (base screen, perturbed screen) of one app state
        other.element(el.id)                   # the same element on the perturbed screen
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rpa_vision.core.atomic import read_json
from rpa_vision.core.errors import CorruptFileError, SchemaVersionError, StorageError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box

SCHEMA_VERSION = 1
DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "data" / "suite"


@dataclass(frozen=True)
class SuiteElement:
    """A ground-truth element: ``id`` is the same on every screen of its application."""

    id: str
    box: Box
    kind: str
    clickable: bool
    text: str = ""


@dataclass(frozen=True)
class SuiteScreen:
    """One screenshot with its configuration, perturbation, state label and elements."""

    config: str
    app: str
    perturbation: str
    state: str
    screen_size: tuple[int, int]
    scale: float  # the application's scale factor (physical pixels per logical pixel)
    window: Box
    elements: tuple[SuiteElement, ...]
    path: Path = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def image(self) -> np.ndarray:
        """The screenshot as a BGR ``uint8`` array (read once)."""
        img = cv2.imread(str(self.path / "screen.png"), cv2.IMREAD_COLOR)
        if img is None:
            raise CorruptFileError(self.path / "screen.png", "not a readable PNG")
        if (img.shape[1], img.shape[0]) != self.screen_size:
            raise CorruptFileError(self.path / "screen.png", f"size {img.shape[1]}x{img.shape[0]} != truth")
        return img

    def frame(self) -> Frame:
        return Frame.from_array(self.image, "BGR")

    @cached_property
    def _by_id(self) -> dict[str, SuiteElement]:
        return {e.id: e for e in self.elements}

    def element(self, element_id: str) -> SuiteElement | None:
        return self._by_id.get(element_id)

    def crop(self, element: SuiteElement | Box, margin: int = 0) -> np.ndarray:
        box = element.box if isinstance(element, SuiteElement) else element
        h, w = self.image.shape[:2]
        x1, y1, x2, y2 = box.expand(margin).clip(w, h).as_int_tuple()
        return np.ascontiguousarray(self.image[y1:y2, x1:x2])

    @property
    def clickable(self) -> tuple[SuiteElement, ...]:
        return tuple(e for e in self.elements if e.clickable)


@dataclass(frozen=True)
class Suite:
    path: Path
    screens: tuple[SuiteScreen, ...]

    def __iter__(self) -> Iterator[SuiteScreen]:
        return iter(self.screens)

    def __len__(self) -> int:
        return len(self.screens)

    def get(self, config: str) -> SuiteScreen:
        for s in self.screens:
            if s.config == config:
                return s
        raise KeyError(config)

    def filter(self, *, app: str | None = None, perturbation: str | None = None, state: str | None = None,
               screen_size: tuple[int, int] | None = None) -> list[SuiteScreen]:
        return [s for s in self.screens if (app is None or s.app == app)
                and (perturbation is None or s.perturbation == perturbation)
                and (state is None or s.state == state) and (screen_size is None or s.screen_size == screen_size)]

    @property
    def perturbations(self) -> list[str]:
        """Perturbation types present (without ``base``), in suite order."""
        return list(dict.fromkeys(s.perturbation for s in self.screens if s.perturbation != "base"))

    @property
    def states(self) -> list[str]:
        return list(dict.fromkeys(s.state for s in self.screens))

    def reference(self, screen: SuiteScreen) -> SuiteScreen | None:
        """The ``base`` screen of the same application state."""
        for s in self.screens:
            if s.perturbation == "base" and s.app == screen.app and s.state == screen.state:
                return s
        return None

    def pairs(self, perturbation: str | None = None) -> list[tuple[SuiteScreen, SuiteScreen]]:
        """(reference, perturbed) screens of the same application state; all types when ``None``."""
        out = []
        for s in self.screens:
            if s.perturbation == "base" or (perturbation is not None and s.perturbation != perturbation):
                continue
            ref = self.reference(s)
            if ref is not None:
                out.append((ref, s))
        return out


def _screen(folder: Path) -> SuiteScreen:
    truth_path = folder / "truth.json"
    t = read_json(truth_path)
    if not isinstance(t, dict):
        raise CorruptFileError(truth_path, "not a JSON object")
    if t.get("schema_version") != SCHEMA_VERSION:
        raise SchemaVersionError(truth_path, t.get("schema_version"), SCHEMA_VERSION)
    try:
        elements = tuple(SuiteElement(e["id"], Box.from_seq(e["xyxy"]), e["kind"], bool(e["clickable"]),
                                      e.get("text", "")) for e in t["elements"])
        w, h = (int(v) for v in t["screen_size"])
        return SuiteScreen(t["config"], t["app"], t["perturbation"], t["state"], (w, h), float(t["scale"]),
                           Box.from_seq(t["window"]), elements, folder, dict(t.get("options", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(truth_path, f"bad truth record: {exc}") from exc


def load_suite(path: str | Path | None = None) -> Suite:
    """The suite at ``path`` (default: the repository's ``data/suite``), in index order."""
    root = Path(path) if path is not None else DEFAULT_SUITE
    index = read_json(root / "index.json")
    if not isinstance(index, dict) or index.get("schema_version") != SCHEMA_VERSION:
        found = index.get("schema_version") if isinstance(index, dict) else None
        raise SchemaVersionError(root / "index.json", found, SCHEMA_VERSION)
    screens = []
    for rec in index.get("configs", []):
        folder = root / str(rec["config"])
        if not folder.is_dir():
            raise StorageError(f"{folder}: listed in the index but missing", path=folder)
        screens.append(_screen(folder))
    return Suite(root, tuple(screens))
