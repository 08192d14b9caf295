"""The workflow model: steps (action + target + state before/after) and their JSON form.

Coordinates: ``xyxy`` boxes are in the pixels of the recorded screen frame (pixel ``(0, 0)`` is
the frame's top-left corner, i.e. ``screen.left, screen.top`` of the desktop); action points
are desktop physical pixels, as ``core.events.Action`` defines them.

Schema history (``schema_version``):

* 1 — first format: ``version`` key, boxes as ``box_xywh``, screen as ``[w, h]``.
* 2 — current: ``schema_version``, boxes as ``xyxy``, screen with origin and scale, encoder
  provenance, healed prototypes.
"""

from __future__ import annotations

import base64
import math
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rpa_vision.core.errors import ValidationError, WorkflowError
from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.geometry import Box, Monitor

SCHEMA_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)

_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_NAME_MAX = 100


class InvalidWorkflowName(WorkflowError):
    """A workflow name that cannot be a folder name on every platform."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid workflow name {name!r}: {reason}", name=name)
        self.name = name


def validate_name(name: str) -> str:
    """Return ``name`` (NFC, stripped) or raise ``InvalidWorkflowName`` with the reason."""
    if not isinstance(name, str):
        raise InvalidWorkflowName(str(name), "a name must be text")
    n = unicodedata.normalize("NFC", name.strip())
    if not n:
        raise InvalidWorkflowName(name, "the name is empty")
    if len(n) > _NAME_MAX:
        raise InvalidWorkflowName(name, f"longer than {_NAME_MAX} characters")
    if "/" in n or "\\" in n:
        raise InvalidWorkflowName(name, "path separators ('/' or '\\') are not allowed")
    if n in (".", "..") or n.startswith("."):
        raise InvalidWorkflowName(name, "a name may not start with '.'")
    if any(unicodedata.category(c).startswith("C") for c in n):
        raise InvalidWorkflowName(name, "control characters are not allowed")
    if re.search(r'[<>:"|?*]', n):
        raise InvalidWorkflowName(name, 'the characters <>:"|?* are not allowed')
    if n.endswith("."):
        raise InvalidWorkflowName(name, "a name may not end with '.'")
    if n.split(".")[0].strip().lower() in _RESERVED:
        raise InvalidWorkflowName(name, "this name is reserved on Windows")
    return n


# --- small helpers ------------------------------------------------------------------------------


def _box(v: object, what: str) -> Box:
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ValidationError(f"{what} must be [x1, y1, x2, y2], got {v!r}", field=what)
    return Box.from_seq([float(x) for x in v])


def _box_json(b: Box) -> list[float]:
    return [round(b.x1, 2), round(b.y1, 2), round(b.x2, 2), round(b.y2, 2)]


def _opt_box(v: object, what: str) -> Box | None:
    return None if v is None else _box(v, what)


def _file(v: object, what: str) -> str:
    """A file name inside the workflow folder (no separators, no parent references)."""
    if not isinstance(v, str) or not v or "/" in v or "\\" in v or v.startswith("."):
        raise ValidationError(f"{what} must be a plain file name inside the workflow folder, got {v!r}", field=what)
    return v


def encode_vector(v: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(s: str, dim: int) -> np.ndarray:
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValidationError(f"state vector is not base64: {exc}", field="vector") from exc
    if len(raw) != 4 * dim:
        raise ValidationError(f"state vector has {len(raw) // 4} values, expected {dim}", field="vector")
    vec = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vec)):
        raise ValidationError("state vector has non-finite values", field="vector")
    return vec


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenInfo:
    """The recorded screen: frame size in physical pixels, desktop origin and scale factor."""

    width: int
    height: int
    scale: float = 1.0
    left: int = 0
    top: int = 0

    def __post_init__(self) -> None:
        Monitor(self.left, self.top, self.width, self.height, self.scale)  # validates

    @classmethod
    def from_monitor(cls, m: Monitor) -> ScreenInfo:
        return cls(m.width, m.height, m.scale, m.left, m.top)

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "scale": self.scale, "left": self.left, "top": self.top}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ScreenInfo:
        return cls(int(d["width"]), int(d["height"]), float(d.get("scale", 1.0)),
                   int(d.get("left", 0)), int(d.get("top", 0)))


@dataclass(frozen=True)
class Anchor:
    """A piece of text near the target, and where it was."""

    text: str
    xyxy: Box

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "xyxy": _box_json(self.xyxy)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Anchor:
        return cls(str(d["text"]), _box(d["xyxy"], "anchor.xyxy"))


@dataclass(frozen=True)
class Prototype:
    """An extra look of a target, added when a replay healed it (found it moved or changed)."""

    crop: str
    xyxy: Box
    screen_wh: tuple[int, int]
    added: float = field(default_factory=time.time)
    source: str = "healed"  # healed | confirmed | corrected
    screenshot: str | None = None  # the screen it was found on (the locator's reference for this look)

    def to_json(self) -> dict[str, Any]:
        return {"crop": self.crop, "xyxy": _box_json(self.xyxy), "screen_wh": list(self.screen_wh),
                "added": round(self.added, 3), "source": self.source, "screenshot": self.screenshot}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Prototype:
        wh = d.get("screen_wh", [0, 0])
        shot = d.get("screenshot")
        return cls(_file(d["crop"], "prototype.crop"), _box(d["xyxy"], "prototype.xyxy"),
                   (int(wh[0]), int(wh[1])), float(d.get("added", 0.0)), str(d.get("source", "healed")),
                   None if shot is None else _file(shot, "prototype.screenshot"))


@dataclass(frozen=True)
class Target:
    """The element a pointer action acts on."""

    crop: str  # PNG file name in the workflow folder
    xyxy: Box  # full-resolution box on the recorded screen
    text: str = ""  # OCR text of the element ("" when unknown)
    anchors: tuple[Anchor, ...] = ()
    rel_screen: tuple[float, float] = (0.0, 0.0)  # box centre / screen size
    window_xyxy: Box | None = None  # the window holding it, where the platform says
    rel_window: tuple[float, float] | None = None  # box centre relative to the window box
    prototypes: tuple[Prototype, ...] = ()
    from_region: bool = True  # False: a fixed patch around the point (no region fitted)

    def __post_init__(self) -> None:
        _file(self.crop, "target.crop")
        if self.xyxy.area <= 0:
            raise ValidationError("target box is empty", field="target.xyxy")

    def to_json(self) -> dict[str, Any]:
        return {
            "crop": self.crop,
            "xyxy": _box_json(self.xyxy),
            "text": self.text,
            "anchors": [a.to_json() for a in self.anchors],
            "rel_screen": [self.rel_screen[0], self.rel_screen[1]],
            "window_xyxy": None if self.window_xyxy is None else _box_json(self.window_xyxy),
            "rel_window": None if self.rel_window is None else list(self.rel_window),
            "prototypes": [p.to_json() for p in self.prototypes],
            "from_region": self.from_region,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Target:
        rs = d.get("rel_screen") or [0.0, 0.0]
        rw = d.get("rel_window")
        return cls(
            crop=_file(d["crop"], "target.crop"),
            xyxy=_box(d["xyxy"], "target.xyxy"),
            text=str(d.get("text", "")),
            anchors=tuple(Anchor.from_json(a) for a in d.get("anchors", ())),
            rel_screen=(float(rs[0]), float(rs[1])),
            window_xyxy=_opt_box(d.get("window_xyxy"), "target.window_xyxy"),
            rel_window=None if rw is None else (float(rw[0]), float(rw[1])),
            prototypes=tuple(Prototype.from_json(p) for p in d.get("prototypes", ())),
            from_region=bool(d.get("from_region", True)),
        )

    def files(self) -> list[str]:
        out = [self.crop]
        for p in self.prototypes:
            out += [p.crop] + ([p.screenshot] if p.screenshot else [])
        return out


@dataclass(frozen=True, eq=False)
class StateSnapshot:
    """The screen at one moment: a thumbnail, optionally the full screenshot, a state vector."""

    thumb: str
    screenshot: str | None = None
    vector: np.ndarray | None = None
    encoder: str = ""  # which state encoder made the vector

    def __post_init__(self) -> None:
        _file(self.thumb, "state.thumb")
        if self.screenshot is not None:
            _file(self.screenshot, "state.screenshot")
        if self.vector is not None:
            v = np.asarray(self.vector, dtype=np.float32).reshape(-1)
            if v.size == 0 or not np.all(np.isfinite(v)):
                raise ValidationError("state vector must be non-empty and finite", field="vector")
            object.__setattr__(self, "vector", v)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"thumb": self.thumb, "screenshot": self.screenshot, "encoder": self.encoder}
        if self.vector is not None:
            d["dim"] = int(self.vector.size)
            d["vector"] = encode_vector(self.vector)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StateSnapshot:
        vec = None
        if d.get("vector") is not None:
            vec = decode_vector(str(d["vector"]), int(d["dim"]))
        shot = d.get("screenshot")
        return cls(_file(d["thumb"], "state.thumb"), None if shot is None else _file(shot, "state.screenshot"),
                   vec, str(d.get("encoder", "")))

    def files(self) -> list[str]:
        return [self.thumb] + ([self.screenshot] if self.screenshot else [])


@dataclass(frozen=True, eq=False)
class Step:
    """One action of a workflow with what it acts on and the screen around it."""

    index: int
    action: Action
    target: Target | None = None
    before: StateSnapshot | None = None
    after: StateSnapshot | None = None
    delay_s: float = 0.0  # time since the previous step ended, as recorded
    expect_change: bool | None = None  # the screen changed after this action when recorded
    extra_states: tuple[tuple[str, np.ndarray], ...] = ()  # (encoder, vector) seen on healed replays

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValidationError("step index must be >= 0", field="index")
        if not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValidationError("step delay must be a finite number >= 0", field="delay_s")

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "action": self.action.to_dict(),
            "target": None if self.target is None else self.target.to_json(),
            "before": None if self.before is None else self.before.to_json(),
            "after": None if self.after is None else self.after.to_json(),
            "delay_s": round(self.delay_s, 4),
            "expect_change": self.expect_change,
            "extra_states": [{"encoder": e, "dim": int(v.size), "vector": encode_vector(v)}
                             for e, v in self.extra_states],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Step:
        return cls(
            index=int(d["index"]),
            action=Action.from_dict(dict(d["action"])),
            target=None if d.get("target") is None else Target.from_json(d["target"]),
            before=None if d.get("before") is None else StateSnapshot.from_json(d["before"]),
            after=None if d.get("after") is None else StateSnapshot.from_json(d["after"]),
            delay_s=float(d.get("delay_s", 0.0)),
            expect_change=None if d.get("expect_change") is None else bool(d["expect_change"]),
            extra_states=tuple((str(e["encoder"]), decode_vector(str(e["vector"]), int(e["dim"])))
                               for e in d.get("extra_states", ())),
        )

    def files(self) -> list[str]:
        out: list[str] = []
        if self.target is not None:
            out += self.target.files()
        for s in (self.before, self.after):
            if s is not None:
                out += s.files()
        return out

    def describe(self) -> str:
        a = self.action
        if a.kind is ActionKind.WAIT:
            if self.after is None or self.after.vector is None:
                return f"wait {a.duration_s:.1f} s"
            limit = f"up to {round(a.timeout_s, 1):g} s " if a.timeout_s else ""
            return f"wait {limit}for the screen to settle (recorded {a.duration_s:.1f} s)"
        what = a.kind.value
        if a.text:
            what += f" {a.text!r}"
        if a.keys:
            what += " " + "+".join(a.keys)
        if a.point is not None:
            what += f" at {int(a.point.x)},{int(a.point.y)}"
        if self.target is not None and self.target.text:
            what += f" on {self.target.text!r}"
        return what


@dataclass(frozen=True)
class Workflow:
    name: str
    screen: ScreenInfo
    steps: tuple[Step, ...] = ()
    created: float = field(default_factory=time.time)
    encoder: Mapping[str, Any] = field(default_factory=dict)  # state encoder provenance
    app: str = ""  # free text: the application it was recorded on
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_name(self.name)
        for i, s in enumerate(self.steps):
            if s.index != i:
                raise ValidationError(f"step {i} carries index {s.index}", field="steps")

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "created": round(self.created, 3),
            # from the stored (rounded) value, so a loaded copy says the same second
            "created_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(self.created, 3))),
            "app": self.app,
            "screen": self.screen.to_json(),
            "encoder": dict(self.encoder),
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Workflow:
        """Validate and build (call ``migrate`` first for older versions)."""
        try:
            version = d.get("schema_version")
            if version != SCHEMA_VERSION:
                raise ValidationError(f"expected schema_version {SCHEMA_VERSION}, got {version!r}", field="schema")
            return cls(
                name=str(d["name"]),
                screen=ScreenInfo.from_json(d["screen"]),
                steps=tuple(Step.from_json(s) for s in d.get("steps", ())),
                created=float(d.get("created", 0.0)),
                encoder=dict(d.get("encoder") or {}),
                app=str(d.get("app", "")),
            )
        except ValidationError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValidationError(f"malformed workflow: {type(exc).__name__}: {exc}", field="workflow") from exc

    def files(self) -> list[str]:
        return [f for s in self.steps for f in s.files()]

    def with_step(self, step: Step) -> Workflow:
        steps = list(self.steps)
        steps[step.index] = step
        return replace(self, steps=tuple(steps))

    def renamed(self, name: str) -> Workflow:
        return replace(self, name=validate_name(name))


# --- migrations --------------------------------------------------------------------------------


def _xywh_to_xyxy(v: Sequence[float]) -> list[float]:
    x, y, w, h = (float(a) for a in v)
    return [x, y, x + w, y + h]


def _migrate_v1(d: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: ``version`` -> ``schema_version``, ``box_xywh`` -> ``xyxy``, screen [w, h] -> object."""
    out = {k: v for k, v in d.items() if k != "version"}
    scr = d.get("screen", [0, 0])
    out["screen"] = {"width": int(scr[0]), "height": int(scr[1]), "scale": float(d.get("scale", 1.0)),
                     "left": 0, "top": 0}
    out.pop("scale", None)
    out.setdefault("encoder", {})
    steps = []
    for s in d.get("steps", ()):
        s2 = dict(s)
        t = s2.get("target")
        if isinstance(t, dict):
            t2 = {k: v for k, v in t.items() if k != "box_xywh"}
            if "box_xywh" in t:
                t2["xyxy"] = _xywh_to_xyxy(t["box_xywh"])
            t2.setdefault("prototypes", [])
            t2["anchors"] = [
                {"text": a["text"], "xyxy": _xywh_to_xyxy(a["box_xywh"])} if "box_xywh" in a else a
                for a in t.get("anchors", ())
            ]
            s2["target"] = t2
        steps.append(s2)
    out["steps"] = steps
    out["schema_version"] = 2
    return out


_MIGRATIONS = {1: _migrate_v1}


def schema_version_of(d: Mapping[str, Any]) -> object:
    return d.get("schema_version", d.get("version"))


def migrate(d: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a workflow document of any supported version to the current one."""
    doc = dict(d)
    version = schema_version_of(doc)
    if not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise ValidationError(f"unsupported schema version {version!r}", field="schema_version", value=version)
    while version < SCHEMA_VERSION:
        doc = _MIGRATIONS[version](doc)
        version = int(doc["schema_version"])
    return doc
