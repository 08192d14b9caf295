"""Records a workflow: input events become actions, each with the screen just before it.

Pieces (all injected, so the recorder runs the same with fakes and with the real desktop):

* an input recorder (``start(callback)`` / ``stop()``) delivering ``InputEvent``s;
* a normaliser turning events into ``Action``s (typing merged, hotkeys, double-clicks, drags,
  scrolls): ``feed(event) -> [Action]`` and ``flush() -> [Action]``;
* a ``FrameRing`` fed by the capture loop, so each action gets the newest frame from *before*
  its press, with a ``ChangeLog`` of how much of the screen changed when: a gap between two
  actions in which the screen changed late and then settled becomes a WAIT step
  (``rpa_vision.workflow.waits``);
* a ``TargetFinder`` (ROI regions, OCR, anchors, window) and a ``StateEncoder``.

The recorder's own hotkeys (stop, secret typing) never become steps. Secret typing stores
``{{secret:NAME}}`` instead of the text. Processing (regions, OCR, PNG encoding) runs on a
worker thread so the input listener is never blocked.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.events import MODIFIER_KEYS, Action, ActionKind, EventKind, InputEvent
from rpa_vision.core.frame import Frame
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.hover import PointerTrail, hover_only
from rpa_vision.workflow.model import ScreenInfo, StateSnapshot, Step, Workflow, validate_name
from rpa_vision.workflow.query import frame_changed
from rpa_vision.workflow.state import StateEncoder, thumbnail
from rpa_vision.workflow.store import WorkflowStore, encode_png
from rpa_vision.workflow.targets import TargetFinder
from rpa_vision.workflow.waits import ChangeLog, WaitRule, infer_wait, wait_timeout

log = get_logger(__name__)

DEFAULT_STOP_HOTKEYS: tuple[tuple[str, ...], ...] = (("ctrl", "alt", "esc"), ("pause",))  # as the fail-safe
DEFAULT_SECRET_HOTKEY = ("ctrl", "shift", "f11")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_STARTS = frozenset({EventKind.PRESS, EventKind.SCROLL, EventKind.KEY_DOWN})  # events an action can begin with
_MAX_SNAPS = 512


class InputSource(Protocol):
    def start(self, callback: Callable[[InputEvent], None]) -> None: ...

    def stop(self) -> None: ...


class Normalizer(Protocol):
    def feed(self, event: InputEvent) -> Sequence[Action]: ...

    def flush(self) -> Sequence[Action]: ...


def secret_placeholder(name: str) -> str:
    return "{{secret:" + name + "}}"


def parse_hotkey(text: str) -> tuple[str, ...]:
    """``"ctrl+shift+f12"`` -> ``("ctrl", "shift", "f12")`` (modifiers first, lower case)."""
    keys = tuple(k.strip().lower() for k in text.split("+") if k.strip())
    if not keys or all(k in MODIFIER_KEYS for k in keys):
        raise ValidationError(f"a hotkey needs a non-modifier key, got {text!r}", field="hotkey")
    mods = tuple(k for k in keys if k in MODIFIER_KEYS)
    return (*mods, *(k for k in keys if k not in MODIFIER_KEYS))


class FrameRing:
    """The last few frames with the monotonic time they were grabbed at, and a longer log of
    how much of the screen changed at each one (``changes``)."""

    def __init__(self, seconds: float = 3.0, max_frames: int = 24) -> None:
        self.seconds = seconds
        self._frames: deque[tuple[float, Frame]] = deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self.changes = ChangeLog()

    def push(self, frame: Frame, t: float | None = None) -> None:
        if t is None:  # Frame.timestamp is wall-clock; map it onto the monotonic clock of input events
            t = time.monotonic() - max(0.0, time.time() - frame.timestamp)
        self.changes.push(t, frame)
        with self._lock:
            self._frames.append((t, frame))
            while self._frames and self._frames[-1][0] - self._frames[0][0] > self.seconds and len(self._frames) > 2:
                self._frames.popleft()

    def before(self, t: float, margin: float = 0.01) -> Frame | None:
        """The newest frame grabbed before ``t - margin`` (else the oldest one there is)."""
        with self._lock:
            frames = list(self._frames)
        if not frames:
            return None
        older = [f for ft, f in frames if ft < t - margin]
        return older[-1] if older else frames[0][1]

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frames[-1][1] if self._frames else None


@dataclass(frozen=True)
class RecorderConfig:
    stop_hotkeys: tuple[tuple[str, ...], ...] = DEFAULT_STOP_HOTKEYS
    secret_hotkey: tuple[str, ...] = DEFAULT_SECRET_HOTKEY
    secret_name: str = "secret"  # the name the secret hotkey uses
    keep_screenshots: bool = True  # full screenshot per step (the locator's reference)
    unhover: bool = True  # use the screen from before the pointer arrived when only a hover effect differs
    hover_radius_px: float = 12.0  # the pointer "arrived" once it stayed this close to the press point
    infer_waits: bool = True  # a gap in which the screen changed late and then settled becomes a WAIT step
    wait_gap_s: float = 1.5  # ... when the gap between two actions is at least this long
    wait_react_s: float = 0.5  # changes this soon after an action are its immediate reaction, not a wait
    wait_settle_s: float = 0.3  # the screen stayed still this long before the next action
    wait_min_change: float = 0.01  # fraction of the screen that must change (a caret or a hover is less)
    wait_timeout_cap_s: float = 120.0  # a WAIT step's timeout: 3 x the recorded wait, 5 s at least, this at most

    def __post_init__(self) -> None:
        self.wait_rule  # noqa: B018 - validates the wait settings

    @property
    def wait_rule(self) -> WaitRule:
        return WaitRule(self.wait_gap_s, self.wait_react_s, self.wait_settle_s, self.wait_min_change,
                        self.wait_timeout_cap_s)


@dataclass
class _Pending:
    action: Action
    before: Frame | None
    delay_s: float
    pre_hover: Frame | None = None  # the screen before the pointer came to the press point
    step: Step | None = None
    images: dict[str, bytes] = field(default_factory=dict)


class Recorder:
    """Listens, pairs every action with the screen before it, and builds a ``Workflow``."""

    def __init__(
        self,
        name: str,
        input_source: InputSource,
        normalizer: Normalizer,
        frames: FrameRing,
        finder: TargetFinder,
        state_encoder: StateEncoder,
        *,
        config: RecorderConfig | None = None,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        self.name = validate_name(name)
        self.input = input_source
        self.normalizer = normalizer
        self.frames = frames
        self.finder = finder
        self.encoder = state_encoder
        self.config = config or RecorderConfig()
        self.on_step = on_step
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._down: set[str] = set()
        self._swallow: set[str] = set()  # keys of our own hotkeys still held down
        self._secret: str | None = None
        self._pending: list[_Pending] = []
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._last_t: float | None = None
        self._input_t: deque[float] = deque(maxlen=_MAX_SNAPS)  # times of input events other than moves
        # the screen before each event that may start an action, taken when the event arrives: the
        # normaliser holds a click back (double-click?) and typing until the next event, by which
        # time the ring may have dropped the frames from before it
        self._snaps: dict[float, Frame | None] = {}
        self._trail = PointerTrail()
        self._pre_hover: dict[float, Frame | None] = {}
        self._started = 0.0
        self.stop_reason = ""
        self.dropped_events = 0

    # control ------------------------------------------------------------------------------------
    def start(self) -> Recorder:
        self._started = time.time()
        self._worker = threading.Thread(target=self._work, name="rpa-vision-recorder", daemon=True)
        self._worker.start()
        self.input.start(self._on_event)
        return self

    def stop(self, reason: str = "stopped") -> None:
        """Stop listening (from any thread, a signal handler included); idempotent."""
        if not self._stopped.is_set():
            self.stop_reason = reason
            self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until stopped (hotkey, ``stop()``); False on timeout."""
        return self._stopped.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def set_secret(self, on: bool, name: str = "secret") -> None:
        """While on, typed text is stored as ``{{secret:NAME}}`` (replay reads RPA_VISION_SECRET_NAME)."""
        if on and not _SECRET_NAME.match(name):
            raise ValidationError(f"secret names are letters, digits and _ (1-40), got {name!r}", field="name")
        with self._lock:
            self._emit(self.normalizer.flush())  # text typed before the switch stays as it was
            self._secret = name if on else None

    @property
    def secret(self) -> str | None:
        return self._secret

    # events (listener thread) -------------------------------------------------------------------
    def _on_event(self, ev: InputEvent) -> None:
        if self._stopped.is_set() or ev.injected:
            return
        try:
            with self._lock:
                if ev.kind is not EventKind.MOVE:
                    self._input_t.append(ev.t)
                if self._hotkey(ev):
                    return
                if ev.kind is EventKind.MOVE and ev.point is not None:
                    self._trail.add(ev.t, ev.point)
                if ev.kind in _STARTS and ev.t not in self._snaps:
                    self._snaps[ev.t] = self.frames.before(ev.t)
                    while len(self._snaps) > _MAX_SNAPS:
                        del self._snaps[next(iter(self._snaps))]
                if ev.kind is EventKind.PRESS and ev.point is not None and self.config.unhover:
                    arrived = self._trail.arrived(ev.t, ev.point, self.config.hover_radius_px)
                    if arrived is not None:
                        self._pre_hover[ev.t] = self.frames.before(arrived)
                        while len(self._pre_hover) > _MAX_SNAPS:
                            del self._pre_hover[next(iter(self._pre_hover))]
                self._emit(self.normalizer.feed(ev))
        except Exception:  # a bad event must not kill the listener thread
            self.dropped_events += 1
            log.exception("recorder: dropped an input event")

    def _hotkey(self, ev: InputEvent) -> bool:
        """Track keys; True when the event belongs to one of the recorder's own hotkeys."""
        key = ev.key or ""
        if ev.kind is EventKind.KEY_UP:
            self._down.discard(key)
            if key in self._swallow:
                self._swallow.discard(key)
                return True
            return False
        if ev.kind is not EventKind.KEY_DOWN:
            return False
        self._down.add(key)
        combos = [(c, "stop") for c in self.config.stop_hotkeys] + [(self.config.secret_hotkey, "secret")]
        for combo, what in combos:
            if key == combo[-1] and set(combo) <= self._down:
                self._swallow |= set(combo)
                self._drop_modifier_state(combo)
                if what == "stop":
                    self.stop("stop hotkey")
                else:
                    # text the normaliser still holds was typed before the switch: it keeps the mode
                    # it was typed in (else a secret typed just before switching off came out plain)
                    self._emit(self.normalizer.flush())
                    self._secret = None if self._secret else self.config.secret_name
                    log.info("secret typing %s", "on" if self._secret else "off")
                return True
        return False

    def _drop_modifier_state(self, combo: tuple[str, ...]) -> None:
        """Forget the hotkey's modifiers in the normaliser: they were the recorder's, not the user's."""
        for k in combo[:-1]:
            try:
                self._emit(self.normalizer.feed(InputEvent(EventKind.KEY_UP, key=k)), hotkey=combo)
            except ValidationError:
                pass

    def _emit(self, actions: Sequence[Action], hotkey: tuple[str, ...] | None = None) -> None:
        own = {*self.config.stop_hotkeys, self.config.secret_hotkey}
        for a in actions:
            if a.kind in (ActionKind.HOTKEY, ActionKind.KEY) and (tuple(a.keys) in own or
                                                                   all(k in MODIFIER_KEYS for k in a.keys)):
                continue  # the recorder's own hotkeys and lone modifiers are not steps
            if self._secret is not None:
                if a.kind is ActionKind.TYPE:
                    a = replace(a, text=secret_placeholder(self._secret))
                elif a.kind is ActionKind.KEY and len(a.keys) == 1 and len(a.keys[0]) == 1:
                    a = Action(ActionKind.TYPE, t=a.t, text=secret_placeholder(self._secret))
            self._add(a)

    def _add(self, a: Action) -> None:
        if self._pending and a.kind is ActionKind.TYPE and self._pending[-1].action.kind is ActionKind.TYPE and \
                self._secret is not None and self._pending[-1].action.text == a.text:
            return  # one placeholder per secret field
        t = a.t if a.t > 0 else time.monotonic()
        delay = 0.0 if self._last_t is None else max(0.0, t - self._last_t - self._pending[-1].action.duration_s)
        end = self._previous_end(t)
        self._last_t = t
        before = self._snaps[t] if t in self._snaps else self.frames.before(t)
        if end is not None and self.config.infer_waits:
            waited = infer_wait(self.frames.changes, end, t, self.config.wait_rule)
            if waited is not None:
                self._add_wait(end, waited)
                delay = max(0.0, t - end - waited)
        pre = self._pre_hover.get(t)
        for d in (self._snaps, self._pre_hover):
            for k in [k for k in d if k <= t]:  # actions come out in the order they began
                del d[k]
        p = _Pending(a, before, delay, pre if pre is not before else None)
        self._pending.append(p)
        self._queue.put(p)

    def _previous_end(self, t: float) -> float | None:
        """When the previous action ended: its last input event before ``t`` (a key up, a release)."""
        if not self._pending:
            return None
        prev = self._pending[-1].action
        end = prev.t + prev.duration_s
        while self._input_t and self._input_t[0] < t:
            end = max(end, self._input_t.popleft())
        return min(end, t)

    def _add_wait(self, end: float, waited: float) -> None:
        """A WAIT step for the screen the user waited for: it has no before-state (the screen
        was changing); its after-state, the settled screen, is the next action's before-screen."""
        a = Action(ActionKind.WAIT, t=end, duration_s=round(waited, 3),
                   timeout_s=wait_timeout(waited, self.config.wait_timeout_cap_s))
        log.info("recorder: the screen settled %.1f s after the last action: a wait step", waited)
        p = _Pending(a, None, 0.0)
        self._pending.append(p)
        self._queue.put(p)

    # processing (worker thread) -------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._prepare(item)
            except Exception:
                log.exception("recorder: could not analyse the screen for an action")

    def _prepare(self, p: _Pending) -> None:
        """Target and before-state of one action (index and after-state come at the end)."""
        target = None
        images: dict[str, bytes] = {}
        before = None
        if p.before is not None:
            if p.action.is_pointer and p.action.point is not None:
                found = self.finder.find(p.before, p.action.point)
                if found is not None and p.pre_hover is not None and hover_only(p.pre_hover, p.before,
                                                                                 found[0].xyxy):
                    unhovered = self.finder.find(p.pre_hover, p.action.point)
                    if unhovered is not None:  # the element as it looks with the pointer elsewhere
                        found, p.before = unhovered, p.pre_hover
                if found is not None:
                    target, crop = found
                    images["target"] = encode_png(crop)
            images["before-thumb"] = encode_png(thumbnail(p.before))
            if self.config.keep_screenshots:
                images["before"] = encode_png(p.before.bgr())
            before = self.encoder.state_vector(p.before)
        p.images = images
        p.step = Step(0, p.action, target, None if before is None else StateSnapshot(
            "before-thumb", "before" if self.config.keep_screenshots else None, before, self.encoder.name),
            delay_s=p.delay_s)

    # result --------------------------------------------------------------------------------------
    def finish(self, timeout: float = 30.0) -> tuple[Workflow, dict[str, bytes]]:
        """Stop listening, process what is left, and build the workflow and its image files."""
        self.stop(self.stop_reason or "finished")
        try:
            self.input.stop()
        except Exception:
            log.exception("recorder: stopping the input listener failed")
        with self._lock:
            self._emit(self.normalizer.flush())
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)
        end_frame = self.frames.latest()
        steps: list[Step] = []
        images: dict[str, bytes] = {}
        screen: ScreenInfo | None = None
        for i, p in enumerate(self._pending):
            if p.step is None:
                continue
            idx = len(steps)
            step, files = self._finalise(idx, p, self._after_frame(i, end_frame))
            steps.append(step)
            images.update(files)
            if screen is None and p.before is not None:
                screen = ScreenInfo.from_monitor(p.before.monitor)
        if screen is None:
            f = end_frame
            screen = ScreenInfo.from_monitor(f.monitor) if f is not None else ScreenInfo(1, 1)
        wf = Workflow(self.name, screen, tuple(steps), created=self._started or time.time(),
                      encoder=self.encoder.provenance())
        return wf, images

    def _after_frame(self, i: int, end: Frame | None) -> Frame | None:
        for p in self._pending[i + 1:]:
            if p.before is not None:
                return p.before
        return end

    def _finalise(self, idx: int, p: _Pending, after: Frame | None) -> tuple[Step, dict[str, bytes]]:
        assert p.step is not None
        pre = f"step-{idx:03d}-"
        files = {pre + k + ".png": v for k, v in p.images.items()}
        step = p.step
        target = step.target
        if target is not None:
            target = replace(target, crop=pre + "target.png")
        before = step.before
        if before is not None:
            before = replace(before, thumb=pre + "before-thumb.png",
                             screenshot=pre + "before.png" if before.screenshot else None)
        after_snap, changed = None, None
        if after is not None and (p.before is not None or step.action.kind is ActionKind.WAIT):
            files[pre + "after-thumb.png"] = encode_png(thumbnail(after))
            after_snap = StateSnapshot(pre + "after-thumb.png", None, self.encoder.state_vector(after),
                                       self.encoder.name)
            changed = None if p.before is None else frame_changed(p.before, after)
        return Step(idx, step.action, target, before, after_snap, step.delay_s, changed), files

    def save(self, store: WorkflowStore | None = None, *, overwrite: bool = False) -> tuple[Workflow, Any]:
        """``finish()`` and save atomically; returns the workflow and its folder (None when empty)."""
        wf, images = self.finish()
        if not wf.steps:
            return wf, None
        store = store or WorkflowStore(Paths.resolve())
        return wf, store.save(wf, images, overwrite=overwrite)

