"""Test doubles for the replayer: a simulated application, a frame source, a template locator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Point
from rpa_vision.workflow.decisions import Located
from rpa_vision.workflow.model import ScreenInfo, StateSnapshot, Step, Target, Workflow
from rpa_vision.workflow.query import TargetQuery
from rpa_vision.workflow.state import ThumbnailStateEncoder, thumbnail

SW, SH = 400, 300
BUTTONS = {"one": (20, 60), "two": (90, 60), "plus": (160, 60), "equals": (20, 110)}
#: ReplayConfig settings that keep replays of the fake app fast (short waits, quick polls)
FAST = dict(state_timeout_s=1.0, settle_s=0.05, decide_after_s=0.1, poll_s=0.02, verify_timeout_s=0.2)


def bgr_frame(img: np.ndarray) -> Frame:
    return Frame.from_array(img, "BGR")
BW, BH = 60, 40


def _texture(name: str) -> np.ndarray:
    rng = np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(name)))
    tex = rng.integers(0, 256, (BH // 4, BW // 4, 3), dtype=np.uint8)
    return cv2.resize(tex, (BW, BH), interpolation=cv2.INTER_NEAREST)


@dataclass
class FakeApp:
    """A window with textured buttons and a display that shows what was pressed."""

    offset: tuple[int, int] = (40, 40)
    open: bool = True
    style: str = "normal"  # normal | dim (restyled: buttons' colours changed)
    scale: float = 1.0  # screen pixels per recorded pixel (another resolution)
    pressed: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    ignore_clicks: bool = False
    twins: bool = False  # draw a second "one" button (ambiguous screen)

    def button_box(self, name: str) -> Box:
        x, y = BUTTONS[name]
        ox, oy = self.offset
        return Box(ox + x, oy + y, ox + x + BW, oy + y + BH).scale(self.scale)

    def render(self) -> np.ndarray:
        img = np.full((SH, SW, 3), 90, np.uint8)
        img[:, :, 0] = 120
        if not self.open:
            return cv2.resize(img, (int(SW * self.scale), int(SH * self.scale)))
        ox, oy = self.offset
        img[oy:oy + 200, ox:ox + 260] = (235, 235, 235)
        img[oy + 10:oy + 45, ox + 10:ox + 250] = (255, 255, 255)
        for i, _ in enumerate(self.pressed[-12:]):
            img[oy + 15:oy + 40, ox + 15 + 18 * i:ox + 28 + 18 * i] = (20, 20, 20)
        for name, (x, y) in BUTTONS.items():
            tex = _texture(name)
            if self.style == "dim":
                tex = np.ascontiguousarray(tex[:, :, ::-1])
            img[oy + y:oy + y + BH, ox + x:ox + x + BW] = tex
        if self.twins:
            x, y = BUTTONS["one"]
            img[oy + y + 50 + 40:oy + y + 90 + 40, ox + x + 180:ox + x + 240] = _texture("one")
        if self.scale != 1.0:
            img = cv2.resize(img, (int(SW * self.scale), int(SH * self.scale)), interpolation=cv2.INTER_LINEAR)
        return img

    def handle(self, action: Action) -> None:
        if not self.open or self.ignore_clicks:
            return
        if action.kind is ActionKind.CLICK and action.point is not None:
            for name in BUTTONS:
                if self.button_box(name).contains(action.point):
                    self.pressed.append(name)
        elif action.kind is ActionKind.TYPE:
            self.typed.append(action.text)


@dataclass
class FakeFrames:
    app: FakeApp
    grabs: int = 0

    def grab(self) -> Frame:
        self.grabs += 1
        return Frame.from_array(self.app.render(), "BGR")


@dataclass
class AppPerformer:
    app: FakeApp
    actions: list[Action] = field(default_factory=list)

    def perform(self, action: Action) -> None:
        self.actions.append(action)
        self.app.handle(action)


class TemplateLocator:
    """A stand-in locator: normalised template matching of the crop (and healed looks)."""

    def __init__(self) -> None:
        self.queries: list[TargetQuery] = []

    def locate(self, query: TargetQuery, frame: Frame, top_k: int) -> Sequence[Located]:
        self.queries.append(query)
        img = frame.bgr()
        out: list[Located] = []
        for tmpl in (query.scaled_crop(), *(img for img, _, _ in query.prototypes)):
            th, tw = tmpl.shape[:2]
            if th > img.shape[0] or tw > img.shape[1]:
                continue
            res = cv2.matchTemplate(img, tmpl, cv2.TM_CCOEFF_NORMED)
            for _ in range(top_k):
                _, mx, _, loc = cv2.minMaxLoc(res)
                if mx <= 0:
                    break
                box = Box(loc[0], loc[1], loc[0] + tw, loc[1] + th)
                if all(box.iou(o.box) < 0.5 for o in out):
                    out.append(Located(box, float(min(1.0, mx)), float(mx)))
                x0, y0 = max(0, loc[0] - tw // 2), max(0, loc[1] - th // 2)
                res[y0:loc[1] + th // 2 + 1, x0:loc[0] + tw // 2 + 1] = -1
        return sorted(out, key=lambda c: -c.confidence)[:top_k]


def record(app: FakeApp, plan: Sequence[str | tuple[str, str]], name: str = "fake",
           ) -> tuple[Workflow, dict[str, np.ndarray]]:
    """Make a workflow by 'recording' clicks on named buttons and ("type", text) steps on a FakeApp."""
    enc = ThumbnailStateEncoder()
    images: dict[str, np.ndarray] = {}
    steps = []
    for i, item in enumerate(plan):
        before = Frame.from_array(app.render(), "BGR")
        shot, th = f"step-{i:03d}-before.png", f"step-{i:03d}-before-thumb.png"
        images[shot], images[th] = before.bgr(), thumbnail(before)
        target = None
        if isinstance(item, tuple):
            action = Action(ActionKind.TYPE, t=float(i), text=item[1])
        else:
            box = app.button_box(item)
            point = Point(box.x1 + 0.3 * box.width, box.y1 + 0.6 * box.height)
            action = Action(ActionKind.CLICK, t=float(i), point=point)
            crop = f"step-{i:03d}-target.png"
            images[crop] = before.crop(box)
            target = Target(crop, box, text=item, rel_screen=(box.center.x / SW, box.center.y / SH))
        app.handle(action)
        after = Frame.from_array(app.render(), "BGR")
        ath = f"step-{i:03d}-after-thumb.png"
        images[ath] = thumbnail(after)
        steps.append(Step(i, action, target,
                          StateSnapshot(th, shot, enc.state_vector(before), enc.name),
                          StateSnapshot(ath, None, enc.state_vector(after), enc.name),
                          expect_change=bool(np.any(before.bgr() != after.bgr()))))
    app.pressed.clear()
    app.typed.clear()
    wf = Workflow(name, ScreenInfo(SW, SH), tuple(steps), encoder=enc.provenance())
    return wf, images


class FakeInput:
    """An input recorder double: the test pushes events through ``emit``."""

    def __init__(self) -> None:
        self.callback = None
        self.stopped = False

    def start(self, callback) -> None:  # type: ignore[no-untyped-def]
        self.callback = callback

    def stop(self) -> None:
        self.stopped = True

    def emit(self, ev) -> None:  # type: ignore[no-untyped-def]
        assert self.callback is not None
        self.callback(ev)


class MiniNormalizer:
    """A minimal normaliser double: clicks, merged typing, hotkeys, single keys."""

    def __init__(self) -> None:
        from rpa_vision.core.events import MODIFIER_KEYS

        self.mods = MODIFIER_KEYS
        self.down: list[str] = []
        self.text = ""
        self.text_t = 0.0
        self.press = None

    def _flush_text(self) -> list[Action]:
        out = [Action(ActionKind.TYPE, t=self.text_t, text=self.text)] if self.text else []
        self.text = ""
        return out

    def feed(self, ev) -> list[Action]:  # type: ignore[no-untyped-def]
        from rpa_vision.core.events import EventKind

        if ev.kind is EventKind.PRESS:
            self.press = ev
            return self._flush_text()
        if ev.kind is EventKind.RELEASE and self.press is not None:
            p, self.press = self.press, None
            return [Action(ActionKind.CLICK, t=p.t, point=p.point)]
        if ev.kind is EventKind.KEY_DOWN:
            held = [k for k in self.down if k in self.mods]
            self.down.append(ev.key)
            if ev.key in self.mods:
                return []
            if held and held != ["shift"]:
                return [*self._flush_text(), Action(ActionKind.HOTKEY, t=ev.t, keys=(*held, ev.key))]
            if ev.char:
                if not self.text:
                    self.text_t = ev.t
                self.text += ev.char
                return []
            return [*self._flush_text(), Action(ActionKind.KEY, t=ev.t, keys=(ev.key,))]
        if ev.kind is EventKind.KEY_UP and ev.key in self.down:
            self.down.remove(ev.key)
        return []

    def flush(self) -> list[Action]:
        return self._flush_text()


def button_regions(app: FakeApp):  # type: ignore[no-untyped-def]
    """A regions function that 'proposes' the app's buttons and a big panel."""
    from types import SimpleNamespace

    def fn(frame: Frame) -> list:  # type: ignore[type-arg]
        regs = [SimpleNamespace(box=app.button_box(n), kind="widget", score=0.9, padded=False) for n in BUTTONS]
        ox, oy = app.offset
        regs.append(SimpleNamespace(box=Box(ox, oy, ox + 260, oy + 200), kind="container", score=0.5, padded=False))
        return regs

    return fn
