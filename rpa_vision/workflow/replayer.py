"""Replays a workflow: wait for the state, locate the target, decide, act, verify, heal.

The replayer talks to the world through small interfaces so it runs the same on a real desktop
and in tests: a ``FrameSource`` (``grab() -> Frame``), a ``TargetLocator`` (``locate(query,
frame, top_k) -> [Located]``), a ``Performer`` (``perform(action)``), a ``DecisionProvider``,
a ``StateEncoder`` and a ``FeedbackSink``. ``rpa_vision.workflow.runtime`` builds the real ones.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np

from rpa_vision.core.errors import FailSafeTriggered, ReplayAborted, RpaVisionError, ValidationError
from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box, Monitor, Point
from rpa_vision.core.logging import get_logger
from rpa_vision.workflow.decisions import (
    Decision,
    DecisionKind,
    DecisionProvider,
    DecisionRequest,
    Located,
    PolicyDecisionProvider,
    secret_env_name,
)
from rpa_vision.workflow.feedback import FeedbackKind, FeedbackSink, NullFeedbackSink
from rpa_vision.workflow.layout import LayoutModel
from rpa_vision.workflow.model import Prototype, Step, Workflow
from rpa_vision.workflow.query import TargetQuery, build_query, frame_changed, looks_same_at
from rpa_vision.workflow.report import ReplayReport, StepReport
from rpa_vision.workflow.settled import AGREE, ChangedPart
from rpa_vision.workflow.state import StateEncoder, best_similarity, thumbnail
from rpa_vision.workflow.store import WorkflowStore

log = get_logger(__name__)

SECRET_RE = re.compile(r"\{\{secret:([A-Za-z0-9_.\-]+)\}\}")
Policy = Literal["ask", "abort", "skip", "accept"]


class FrameSource(Protocol):
    def grab(self) -> Frame: ...


class TargetLocator(Protocol):
    def locate(self, query: TargetQuery, frame: Frame, top_k: int) -> Sequence[Located]: ...


class Performer(Protocol):
    def perform(self, action: Action) -> None: ...


@dataclass(frozen=True)
class ReplayConfig:
    min_confidence: float = 0.8  # act without asking at or above this
    floor_confidence: float = 0.35  # below this a candidate is "not found" (never acted on by policy)
    ambiguity_margin: float = 0.05  # a second, separate candidate this close to the best makes it ask
    on_low_confidence: Policy = "ask"
    state_threshold: float = 0.92  # the screen is "as recorded" at or above this similarity
    state_timeout_s: float = 10.0
    settle_s: float = 0.25  # the screen must stay unchanged this long before a mismatched state is judged
    stable_s: float = 0.1  # a matching state counts once the screen stayed unchanged this long (an app mid-redraw)
    stable_max_s: float = 1.0  # ... or once it has matched for this long (an animation never stops)
    decide_after_s: float = 2.0  # a settled screen with only unsure candidates goes to the decision after this
    poll_s: float = 0.1
    verify_timeout_s: float = 1.5
    retry: bool = False  # click again once when nothing changed (off: a slow app would get a double click)
    heal: bool = True
    dry_run: bool = False
    top_k: int = 5
    max_prototypes: int = 8
    max_asks: int = 3  # a person's answer that cannot be acted on (a box off every monitor) is asked again

    def __post_init__(self) -> None:
        if not (0.0 < self.min_confidence <= 1.0):
            raise ValidationError("min_confidence must be in (0, 1]", field="min_confidence")
        if not (0.0 <= self.floor_confidence <= self.min_confidence):
            raise ValidationError("floor_confidence must be in [0, min_confidence]", field="floor_confidence")
        if self.on_low_confidence not in ("ask", "abort", "skip", "accept"):
            raise ValidationError(f"unknown policy {self.on_low_confidence!r}; valid: ask, abort, skip, accept",
                                  field="on_low_confidence")
        if self.state_timeout_s < 0 or self.verify_timeout_s < 0 or self.poll_s <= 0:
            raise ValidationError("timeouts must be >= 0 and the poll interval > 0", field="timeout")
        if self.stable_s < 0 or self.stable_max_s < 0:
            raise ValidationError("stable_s and stable_max_s must be >= 0", field="stable_s")
        if self.max_asks < 1:
            raise ValidationError("max_asks must be >= 1", field="max_asks")


EventKind = Literal["started", "step_started", "located", "decided", "acted", "healed", "step_finished",
                    "finished"]


@dataclass(frozen=True)
class ReplayEvent:
    kind: EventKind
    step_index: int = -1
    step_count: int = 0
    data: dict[str, Any] = field(default_factory=dict)


class _Stop(Exception):
    """Ends the replay early with a status (internal)."""

    def __init__(self, status: Literal["aborted", "failed"], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Replayer:
    """Replays one workflow. ``run()`` returns the report; ``cancel()`` works from any thread."""

    def __init__(
        self,
        workflow: Workflow,
        store: WorkflowStore,
        frames: FrameSource,
        locator: TargetLocator,
        performer: Performer,
        decider: DecisionProvider,
        state_encoder: StateEncoder,
        *,
        feedback: FeedbackSink | None = None,
        config: ReplayConfig | None = None,
        observer: Callable[[ReplayEvent], None] | None = None,
        monitors: Sequence[Monitor] = (),
    ) -> None:
        self.wf = workflow
        self.store = store
        self.frames = frames
        self.locator = locator
        self.performer = performer
        self.decider = decider
        self.encoder = state_encoder
        self.feedback = feedback or NullFeedbackSink()
        self.config = config or ReplayConfig()
        self.observer = observer
        # where a pointer action may land: the real monitors (mss's union, index 0, left out);
        # none given: the monitor of the frame being replayed on
        self.monitors = tuple(m for m in monitors if m.index != 0) or tuple(monitors)
        self._cancel = threading.Event()
        self._images: dict[str, np.ndarray] = {}
        self._image_lock = threading.Lock()
        self._file_locks: dict[str, threading.Lock] = {}
        self._vectors: dict[str, np.ndarray] = {}  # state vectors of healed looks' screenshots
        self._prev_ok = False  # the previous step succeeded in this replay (acted, verified where it could)
        self._layout = LayoutModel()  # where the targets found so far put the next one
        if self.config.on_low_confidence == "ask":
            self._policy: DecisionProvider = decider
        else:
            self._policy = PolicyDecisionProvider(self.config.on_low_confidence, secrets=decider)

    # control ----------------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _emit(self, kind: EventKind, index: int = -1, **data: Any) -> None:
        if self.observer is not None:
            try:
                self.observer(ReplayEvent(kind, index, len(self.wf.steps), data))
            except Exception:  # an observer bug must not break a replay
                log.exception("replay observer failed on %s", kind)

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(max(0.0, seconds)):
            raise _Stop("aborted", "cancelled")

    def _image(self, file: str) -> np.ndarray:
        img = self._images.get(file)
        if img is None:
            with self._image_lock:
                lock = self._file_locks.setdefault(file, threading.Lock())
            with lock:  # the prefetch thread may be decoding this very file; other files do not wait
                img = self._images.get(file)
                if img is None:
                    img = self._images[file] = self.store.image(self.wf.name, file)
        return img

    def _prefetch(self) -> None:
        """Decode the workflow's images in the background (PNG decoding of screenshots is slow)."""
        for step in self.wf.steps:
            for f in step.files():
                if self._cancel.is_set():
                    return
                try:
                    self._image(f)
                except RpaVisionError:
                    return  # the step that needs it reports the problem

    # the run ------------------------------------------------------------------------------------
    def run(self) -> ReplayReport:
        report = ReplayReport(self.wf.name, dry_run=self.config.dry_run)
        t0 = time.perf_counter()
        self._emit("started", workflow=self.wf.name, dry_run=self.config.dry_run)
        threading.Thread(target=self._prefetch, name="rpa-vision-replay-prefetch", daemon=True).start()
        if not self.wf.steps:
            report.status, report.message = "failed", "the workflow has no steps"
        for step in self.wf.steps:
            sr = StepReport(step.index, step.action.kind.value, step.describe())
            if step.target is not None:
                sr.recorded_xyxy = step.target.xyxy
            report.steps.append(sr)
            ts = time.perf_counter()
            self._emit("step_started", step.index, description=sr.description)
            try:
                if self._cancel.is_set():
                    raise _Stop("aborted", "cancelled")
                self._run_step(step, sr)
            except _Stop as stop:
                report.status, report.message = stop.status, f"step {step.index + 1}: {stop.message}"
                if sr.decision == "auto" and not sr.acted:
                    sr.decision = "aborted"
                sr.message = sr.message or stop.message
            except FailSafeTriggered as exc:
                report.status, report.message = "aborted", f"step {step.index + 1}: {exc}"
                sr.decision, sr.message = "aborted", str(exc)
            except ReplayAborted as exc:
                report.status, report.message = "aborted", f"step {step.index + 1}: {exc}"
                sr.decision, sr.message = "aborted", str(exc)
            except RpaVisionError as exc:
                report.status, report.message = "failed", f"step {step.index + 1}: {exc}"
                sr.message = str(exc)
            self._prev_ok = sr.ok and sr.decision != "skipped"
            sr.ms = (time.perf_counter() - ts) * 1000.0
            self._emit("step_finished", step.index, ok=sr.ok, decision=sr.decision, message=sr.message)
            if report.status != "ok":
                break
        report.duration_s = time.perf_counter() - t0
        if report.status == "ok" and not all(s.ok for s in report.steps):
            report.status = "failed"
            report.message = report.message or "some steps did not succeed"
        self._emit("finished", status=report.status, message=report.message)
        return report

    def _run_step(self, step: Step, sr: StepReport) -> None:
        if step.action.kind is ActionKind.WAIT:
            self._wait_step(step, sr)
            return
        frame, cands = self._wait_for_state(step, sr)
        if step.action.is_pointer:
            self._pointer_step(step, sr, frame, cands)
        else:
            self._keyboard_step(step, sr, frame)

    # state -------------------------------------------------------------------------------------
    def _state_vectors(self, step: Step) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The recorded before-state vector (if comparable) and the extra ones from healed replays."""
        orig = None
        if step.before is not None and step.before.vector is not None and \
                step.before.encoder in ("", self.encoder.name):
            orig = step.before.vector
        return orig, [v for enc, v in step.extra_states if enc == self.encoder.name]

    def _wait_step(self, step: Step, sr: StepReport) -> None:
        """A recorded wait: until the screen looks like the settled screen recorded after it.

        Done as soon as the state matches (``state_threshold``; the next step's healed states
        count too), the part of the screen that changed during the recorded wait looks as it
        did once settled (``ChangedPart``: a dialog is a small part of a large screen, which
        the state vector alone hardly sees) and the screen stopped changing (``stable_s``, or ``stable_max_s`` for a
        screen that never stops). A screen that does not look as recorded (a moved or restyled
        window) is also done once the recorded wait has passed, the screen stayed unchanged for
        ``settle_s`` and the next step's target is found with confidence. Failed at the step's
        timeout (recorded with it; else 3 x the recorded wait, ``state_timeout_s`` at least). A
        wait with no comparable recorded state sleeps the recorded duration.
        """
        cfg, a = self.config, step.action
        start = time.monotonic()
        after = step.after
        vec = after.vector if after is not None and after.encoder in ("", self.encoder.name) else None
        try:
            if cfg.dry_run:
                sr.message = "dry run: not waited"
            elif vec is None:
                self._sleep(a.duration_s)
            else:
                self._wait_until_settled(step, sr, vec, start)
            sr.ok = True
        finally:
            sr.waited_s = time.monotonic() - start

    def _wait_until_settled(self, step: Step, sr: StepReport, vec: np.ndarray, start: float) -> None:
        cfg, a = self.config, step.action
        timeout = a.timeout_s or max(cfg.state_timeout_s, 3.0 * a.duration_s)
        nxt_step = self.wf.steps[step.index + 1] if step.index + 1 < len(self.wf.steps) else None
        protos = [vec]
        if nxt_step is not None:
            before, extra = self._state_vectors(nxt_step)
            protos += ([before] if before is not None else []) + extra
            if not (nxt_step.action.is_pointer and nxt_step.target is not None):
                nxt_step = None  # only a pointer step's target says that the screen is ready
        part = self._changed_part(step)
        frame = self.frames.grab()
        last_change, same_grabs, best, tried_locate = start, 0, 0.0, -1e9
        matched_at: float | None = None
        score: float | None = None
        local: float | None = None
        best_local = 0.0
        while True:
            now = time.monotonic()
            if score is None or same_grabs == 0:
                score = best_similarity(self.encoder.state_vector(frame), protos) or 0.0
                local = None if part is None else part.agreement(thumbnail(frame))
            best, sr.state_score = max(best, score), score
            best_local = max(best_local, local or 0.0)
            if score >= cfg.state_threshold and (local is None or local >= AGREE):
                matched_at = now if matched_at is None else matched_at
                stable = (same_grabs >= 1 and now - last_change >= cfg.stable_s) or cfg.stable_s == 0
                if stable or now - matched_at >= cfg.stable_max_s:
                    return
            else:
                matched_at = None
                settled = same_grabs >= 1 and now - last_change >= cfg.settle_s
                if nxt_step is not None and settled and now - start >= a.duration_s and now - tried_locate >= 1.0:
                    tried_locate = now
                    cands = self._locate(nxt_step, frame)
                    if cands and cands[0].confidence >= cfg.min_confidence and not self._ambiguous(cands):
                        sr.message = (f"the screen does not look as recorded (similarity {score:.2f}); "
                                      f"went on because the next step's target is on the settled screen")
                        return
            if now - start >= timeout:
                why = f"best similarity {best:.2f}"
                why += f" < {cfg.state_threshold:.2f}" if best < cfg.state_threshold else ""
                if part is not None:
                    why += (f"; the part of the screen that changed when recorded agreed at best on "
                            f"{best_local:.0%} (< {AGREE:.0%})")
                raise _Stop("failed", f"waited {timeout:g} s for the screen to settle as recorded (it took "
                                      f"{a.duration_s:.1f} s when recorded) but it never did ({why}); "
                                      f"is the application stuck?")
            frame, changed = self._poll(frame)
            last_change, same_grabs = (time.monotonic(), 0) if changed else (last_change, same_grabs + 1)

    def _poll(self, frame: Frame) -> tuple[Frame, bool]:
        """Sleep one poll interval and grab again: the new frame and whether it differs from ``frame``."""
        self._sleep(self.config.poll_s)
        nxt = self.frames.grab()
        return nxt, frame_changed(frame, nxt)

    def _changed_part(self, step: Step) -> ChangedPart | None:
        """What changed on screen between the previous step's before-state and the settled
        screen of this WAIT step, when both thumbnails are there."""
        prev = self.wf.steps[step.index - 1] if step.index > 0 else None
        if prev is None or prev.before is None or step.after is None:
            return None
        try:
            return ChangedPart.between(self._image(prev.before.thumb), self._image(step.after.thumb))
        except RpaVisionError as exc:
            log.warning("replay: no changed part for the wait of step %d: %s", step.index + 1, exc)
            return None

    def _wait_for_state(self, step: Step, sr: StepReport) -> tuple[Frame, list[Located] | None]:
        """Wait until the screen is ready for this step (or time out and stop).

        Ready when the screen looks as recorded (similarity to the recorded or a healed state at
        least ``state_threshold``). A moved, resized or restyled screen never matches a whole-screen
        vector well, so more signals count once the screen has stayed unchanged for ``settle_s``:
        for a pointer step, its own target found with confidence (the evidence that matters for a
        click), or, after ``decide_after_s`` more, unsure candidates that go to the decision (ask or
        policy); for a keyboard step, the previous step having succeeded in this replay (the keys
        go where the last action left the focus). Nothing is sent before one of these holds. At
        ``state_timeout_s`` a pointer step with no candidate at all goes to a person in ``ask``
        mode (who may point at the element, skip or abort) and stops the replay otherwise.
        Returns the frame and, when the target was already located on it, the candidates.
        """
        cfg = self.config
        orig, extra = self._state_vectors(step)
        protos = ([orig] if orig is not None else []) + extra
        pointer = step.action.is_pointer and step.target is not None
        frame = self.frames.grab()
        start = time.monotonic()
        last_change = start
        tried_locate = -1e9
        best = 0.0
        cands: list[Located] = []
        matched_at: float | None = None
        same_grabs = 0  # grabs in a row that showed no change
        vec: np.ndarray | None = None  # the state vector of ``frame`` (kept while the screen does not change)
        while True:
            now = time.monotonic()
            if protos:
                if vec is None or same_grabs == 0:
                    vec = self.encoder.state_vector(frame)
                score = best_similarity(vec, protos) or 0.0
                best = max(best, score)
                sr.state_score = score
                if score >= cfg.state_threshold:
                    matched_at = now if matched_at is None else matched_at
                    # located on a screen still being redrawn after the last action, a target looks
                    # half-drawn: wait until it stayed unchanged for stable_s (at most stable_max_s)
                    stable = (same_grabs >= 1 and now - last_change >= cfg.stable_s) or cfg.stable_s == 0
                    if stable or now - matched_at >= cfg.stable_max_s:
                        return frame, None
                else:
                    matched_at = None
            settled_for = now - last_change - cfg.settle_s
            if settled_for >= 0 and pointer and now - tried_locate >= 1.0:
                tried_locate = now
                cands = self._locate(step, frame)
                if cands and cands[0].confidence >= cfg.min_confidence and not self._ambiguous(cands):
                    return frame, cands
                if settled_for >= cfg.decide_after_s and cands and cands[0].confidence >= cfg.floor_confidence:
                    return frame, cands
            if settled_for >= 0 and not step.action.is_pointer and (self._prev_ok or not protos):
                return frame, None
            if now - start >= cfg.state_timeout_s:
                if pointer:
                    cands = self._locate(step, frame)
                    if (cands and cands[0].confidence >= cfg.floor_confidence) or cfg.on_low_confidence == "ask":
                        return frame, cands  # unsure, or a person can point at it: the decision takes over
                what = (f"best similarity {best:.2f} < {cfg.state_threshold:.2f}" if protos else "no state recorded")
                target = " and its target was not found" if pointer else ""
                raise _Stop("failed", f"the screen never reached the state recorded before this step ({what}"
                                      f"{target} after {cfg.state_timeout_s:g} s); is the application open "
                                      f"and showing the right window?")
            frame, changed = self._poll(frame)
            last_change, same_grabs = (time.monotonic(), 0) if changed else (last_change, same_grabs + 1)

    # pointer steps ---------------------------------------------------------------------------------
    def _locate(self, step: Step, frame: Frame) -> list[Located]:
        """Candidates best first; one whose action point would be off every monitor counts as not found."""
        query = self._query(step, frame)
        cands = sorted(self.locator.locate(query, frame, self.config.top_k), key=lambda c: -c.confidence)
        kept = [c for c in cands if self._off_monitor(self._translate(step, c.box, frame), frame) is None]
        if len(kept) < len(cands):
            log.info("step %d: %d candidate(s) off every monitor dropped", step.index + 1, len(cands) - len(kept))
        return kept

    def _off_monitor(self, action: Action, frame: Frame) -> str | None:
        """Why ``action`` cannot be sent (a point of it lies on no monitor); None when it can."""
        mons = self.monitors or (frame.monitor,)
        for what, p in (("point", action.point), ("end point", action.end_point)):
            if p is not None and not any(m.contains(p) for m in mons):
                where = ", ".join(f"{m.width}x{m.height}+{m.left}+{m.top}" for m in mons)
                return f"its {what} {p.x:.0f},{p.y:.0f} is outside every monitor ({where})"
        return None

    def _query(self, step: Step, frame: Frame) -> TargetQuery:
        t = step.target
        if t is None:
            raise ValidationError("step has no target", field="target")
        ref = self._image(step.before.screenshot) if step.before is not None and step.before.screenshot else None
        protos = [(self._image(p.crop), p, self._image(p.screenshot) if p.screenshot else None)
                  for p in t.prototypes]
        if len(protos) > 1:  # the looks seen on screens most like this one first
            now = self.encoder.state_vector(frame)
            protos.sort(key=lambda x: -self._screen_similarity(now, x[1].screenshot))
        return build_query(t, self._image(t.crop), ref, self.wf.screen, frame, protos)

    def _screen_similarity(self, vec: np.ndarray, file: str | None) -> float:
        if file is None:
            return -1.0
        if file not in self._vectors:
            img = self._image(file)
            self._vectors[file] = self.encoder.state_vector(Frame.from_array(img, "BGR"))
        return best_similarity(vec, [self._vectors[file]]) or 0.0

    def _ambiguous(self, cands: Sequence[Located]) -> bool:
        if len(cands) < 2:
            return False
        a, b = cands[0], cands[1]
        margin = self.config.ambiguity_margin
        return b.confidence >= self.config.min_confidence and a.confidence - b.confidence < margin \
            and a.box.iou(b.box) < 0.3

    def _pointer_step(self, step: Step, sr: StepReport, frame: Frame, cands: list[Located] | None) -> None:
        cfg = self.config
        if step.target is None:
            raise _Stop("failed", "this pointer step has no recorded target")
        if cands is None:
            cands = self._locate(step, frame)
        best = cands[0] if cands else None
        sr.confidence = best.confidence if best else 0.0
        self._emit("located", step.index, candidates=[(c.box.as_tuple(), c.confidence) for c in cands])
        chosen: Box | None = None
        off_layout = self._off_layout(step, frame, best.box) if best is not None else None
        if best is not None and best.confidence >= cfg.min_confidence and not self._ambiguous(cands) \
                and off_layout is None:
            chosen, sr.decision = best.box, "auto"
        else:
            sr.asked = cfg.on_low_confidence == "ask"
            usable = [c for c in cands if c.confidence >= cfg.floor_confidence]
            if off_layout is not None and best is not None and best.confidence >= cfg.min_confidence:
                reason = off_layout
            elif best is None or not usable:
                reason = "the target was not found on the screen"
                if sr.state_score is not None and sr.state_score < cfg.state_threshold:
                    reason += f" and the screen does not look as recorded (similarity {sr.state_score:.2f})"
            elif self._ambiguous(cands):
                reason = f"two places look alike ({cands[0].confidence:.2f} and {cands[1].confidence:.2f})"
            else:
                reason = f"confidence {best.confidence:.2f} below {cfg.min_confidence:.2f}"
            decision = self._ask_until_actionable(step, frame, usable, reason)
            chosen = self._apply_decision(decision, usable, sr)
            if chosen is None:
                return
        sr.located_xyxy = chosen
        self._layout.add(self._recorded_on(step, frame), chosen)
        self._emit("decided", step.index, decision=sr.decision, box=chosen.as_tuple())
        action = self._translate(step, chosen, frame)
        self._act(step, sr, action, frame)
        self._learn(step, sr, frame, chosen, cands)

    def _recorded_on(self, step: Step, frame: Frame) -> Box:
        assert step.target is not None
        return step.target.xyxy.scale(frame.width / self.wf.screen.width, frame.height / self.wf.screen.height)

    def _off_layout(self, step: Step, frame: Frame, box: Box) -> str | None:
        """A reason to doubt ``box`` when the targets found so far place this one elsewhere."""
        pred = self._layout.predict(self._recorded_on(step, frame))
        if pred is None:
            return None
        p, tol = pred
        d = p.distance(box.center)
        if d <= tol:
            return None
        return (f"found {d:.0f} px away from where the steps found so far place it "
                f"({int(p.x)},{int(p.y)}); please confirm")

    def _ask(self, step: Step, frame: Frame, cands: list[Located], reason: str) -> Decision:
        t = step.target
        req = DecisionRequest(
            workflow=self.wf.name, step_index=step.index, step_count=len(self.wf.steps), action=step.action,
            description=step.describe(), reason=reason,
            target_crop=self._image(t.crop) if t is not None else None, screenshot=frame.bgr(),
            candidates=tuple(cands), min_confidence=self.config.min_confidence,
        )
        return self._policy.decide(req)

    def _ask_until_actionable(self, step: Step, frame: Frame, cands: list[Located], reason: str) -> Decision:
        """Ask; a chosen box that cannot be acted on (off every monitor) is refused and asked again."""
        for _ in range(self.config.max_asks):
            d = self._ask(step, frame, cands, reason)
            if d.kind is not DecisionKind.CHOOSE or d.box is None:
                return d
            off = self._off_monitor(self._translate(step, d.box, frame), frame)
            if off is None:
                return d
            log.warning("step %d: refused the chosen box %s: %s", step.index + 1, d.box.as_tuple(), off)
            reason = f"the box chosen cannot be clicked: {off}; please choose a box on the screen"
        raise _Stop("failed", f"no box on a monitor was chosen after {self.config.max_asks} questions "
                              f"(last: {reason})")

    def _apply_decision(self, d: Decision, cands: list[Located], sr: StepReport) -> Box | None:
        if d.kind is DecisionKind.CONFIRM:
            if not cands:
                raise _Stop("aborted", "confirmed, but there is no candidate to act on")
            sr.decision = "confirmed"
            return cands[0].box
        if d.kind is DecisionKind.CHOOSE and d.box is not None:
            sr.decision = "corrected"
            return d.box
        if d.kind is DecisionKind.SKIP:
            sr.decision, sr.ok, sr.message = "skipped", False, d.reason or "skipped"
            return None
        sr.decision = "aborted"
        raise _Stop("aborted", d.reason or "aborted")

    def _translate(self, step: Step, box: Box, frame: Frame) -> Action:
        """The recorded action moved onto ``box``: same relative spot inside the element, scaled."""
        a, t, scr = step.action, step.target, self.wf.screen
        assert t is not None  # checked by the caller
        sx, sy = frame.width / scr.width, frame.height / scr.height
        rec = t.xyxy.scale(sx, sy)
        if a.point is None:
            return a
        lx, ly = (a.point.x - scr.left) * sx, (a.point.y - scr.top) * sy
        fx = (lx - rec.x1) / rec.width if rec.width > 0 else 0.5
        fy = (ly - rec.y1) / rec.height if rec.height > 0 else 0.5
        fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
        nx, ny = box.x1 + fx * box.width, box.y1 + fy * box.height
        mon = frame.monitor
        point = Point(nx + mon.left, ny + mon.top)
        end = None
        if a.end_point is not None:
            kx = box.width / rec.width if rec.width > 0 else 1.0
            ky = box.height / rec.height if rec.height > 0 else 1.0
            end = Point(point.x + (a.end_point.x - a.point.x) * sx * kx,
                        point.y + (a.end_point.y - a.point.y) * sy * ky)
        return replace(a, point=point, end_point=end, monitor=mon)

    def _act(self, step: Step, sr: StepReport, action: Action, before: Frame) -> None:
        if self.config.dry_run:
            sr.ok, sr.message = True, "dry run: not acted"
            return
        off = self._off_monitor(action, before) if action.is_pointer else None
        if off is not None:  # never send input where no monitor is (the last guard before the device)
            raise _Stop("failed", f"refused to act: {off}")
        self.performer.perform(action)
        sr.acted = True
        self._emit("acted", step.index, action=action.to_dict() if not action.text else {"kind": action.kind.value})
        sr.verified = self._verify(step, before)
        if sr.verified is False and self.config.retry and step.action.kind is ActionKind.CLICK:
            log.info("step %d: the screen did not change; clicking once more", step.index + 1)
            self.performer.perform(action)
            sr.verified = self._verify(step, before)
        if sr.verified is False:
            sr.message = "the screen did not change as it did when recorded"
        sr.ok = True

    def _verify(self, step: Step, before: Frame) -> bool | None:
        """True when the screen changed (or reached the recorded after-state); None: nothing to check."""
        if step.expect_change is not True:
            return None
        after_protos = []
        if step.after is not None and step.after.vector is not None and step.after.encoder in ("", self.encoder.name):
            after_protos.append(step.after.vector)
        deadline = time.monotonic() + self.config.verify_timeout_s
        while True:
            now = self.frames.grab()
            if frame_changed(before, now):
                return True
            if after_protos and (best_similarity(self.encoder.state_vector(now), after_protos) or 0) >= 0.995:
                return True
            if time.monotonic() >= deadline:
                return False
            self._sleep(self.config.poll_s)

    # learning: healing and feedback -----------------------------------------------------------
    def _learn(self, step: Step, sr: StepReport, frame: Frame, box: Box, cands: list[Located]) -> None:
        if self.config.dry_run or not sr.acted:
            return
        t = step.target
        assert t is not None
        recorded = self._image(t.crop)
        try:
            current = frame.crop(box)
        except ValidationError:
            return
        if sr.decision in ("confirmed", "corrected"):
            kind: FeedbackKind = "confirmation" if sr.decision == "confirmed" else "correction"
            negatives = [frame.crop(c.box) for c in cands if c.box.iou(box) < 0.3][:4]
            self.feedback.record(kind, recorded, current, negatives, self._context(step))
        sx, sy = frame.width / self.wf.screen.width, frame.height / self.wf.screen.height
        known = [t.xyxy.scale(sx, sy)] + [p.xyxy.scale(frame.width / max(1, p.screen_wh[0]),
                                                       frame.height / max(1, p.screen_wh[1])) for p in t.prototypes]
        moved = all(k.iou(box) < 0.6 for k in known)
        looks = [(self._image(t.crop), (sx, sy))] + [(self._image(p.crop), (1.0, 1.0)) for p in t.prototypes]
        changed = not any(looks_same_at(frame, box, img, sc) for img, sc in looks)
        if not self.config.heal or not (moved or changed or sr.decision != "auto"):
            return
        if sr.decision == "auto":
            self.feedback.record("healed", recorded, current, (), self._context(step))
        self._heal(step, sr, frame, box, current)

    def _context(self, step: Step) -> dict[str, Any]:
        return {"workflow": self.wf.name, "step": step.index, "text": step.target.text if step.target else ""}

    def _heal(self, step: Step, sr: StepReport, frame: Frame, box: Box, crop: np.ndarray) -> None:
        t = step.target
        assert t is not None
        fname = self.store.unique_file(self.wf.name, f"step-{step.index:03d}-proto")
        shot = fname.replace(".png", "-screen.png")
        source = {"auto": "healed", "confirmed": "confirmed", "corrected": "corrected"}.get(sr.decision, "healed")
        proto = Prototype(fname, box, (frame.width, frame.height), time.time(), source, shot)
        protos = (*t.prototypes, proto)[-self.config.max_prototypes:]
        states = step.extra_states
        vec = self.encoder.state_vector(frame)
        states = (*states, (self.encoder.name, vec))[-self.config.max_prototypes:]
        new_step = replace(step, target=replace(t, prototypes=protos), extra_states=states)
        new_wf = self.wf.with_step(new_step)
        try:
            self.store.update(new_wf, {fname: crop, shot: frame.bgr()})
        except RpaVisionError as exc:
            log.warning("step %d: could not save the healed target: %s", step.index + 1, exc)
            return
        self.wf = new_wf
        self._images[fname] = crop
        self._images[shot] = frame.bgr()
        sr.healed = True
        self._emit("healed", step.index, file=fname, box=box.as_tuple())

    # keyboard steps ---------------------------------------------------------------------------------
    def _keyboard_step(self, step: Step, sr: StepReport, frame: Frame) -> None:
        action = step.action
        if action.text and SECRET_RE.search(action.text) and not self.config.dry_run:
            action = replace(action, text=self._fill_secrets(action.text))
        self._act(step, sr, action, frame)

    def _fill_secrets(self, text: str) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            env = os.environ.get(f"RPA_VISION_SECRET_{secret_env_name(name)}")
            return env if env is not None else self.decider.ask_secret(name)

        return SECRET_RE.sub(value, text)

