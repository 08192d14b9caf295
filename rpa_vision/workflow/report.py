"""The replay report (``--report FILE``) and the four outcomes a step can end in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from rpa_vision.core.atomic import atomic_write_json
from rpa_vision.core.geometry import Box

DecisionLabel = Literal["auto", "confirmed", "corrected", "skipped", "aborted"]
ReplayStatus = Literal["ok", "aborted", "failed"]


def _xyxy(b: Box | None) -> list[float] | None:
    return None if b is None else [round(b.x1, 1), round(b.y1, 1), round(b.x2, 1), round(b.y2, 1)]


@dataclass
class StepReport:
    index: int
    action: str
    description: str = ""
    state_score: float | None = None
    confidence: float | None = None
    recorded_xyxy: Box | None = None
    located_xyxy: Box | None = None
    healed: bool = False
    decision: DecisionLabel = "auto"
    asked: bool = False
    acted: bool = False
    verified: bool | None = None  # the screen changed as recorded after acting (None: not checked)
    waited_s: float | None = None  # how long a WAIT step waited (None: not a wait)
    ok: bool = False
    message: str = ""
    ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "action": self.action,
            "description": self.description,
            "state_score": None if self.state_score is None else round(self.state_score, 4),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "recorded_xyxy": _xyxy(self.recorded_xyxy),
            "located_xyxy": _xyxy(self.located_xyxy),
            "healed": self.healed,
            "decision": self.decision,
            "asked": self.asked,
            "acted": self.acted,
            "verified": self.verified,
            "waited_s": None if self.waited_s is None else round(self.waited_s, 3),
            "ok": self.ok,
            "message": self.message,
            "ms": round(self.ms, 1),
        }


@dataclass
class ReplayReport:
    workflow: str
    status: ReplayStatus = "ok"
    steps: list[StepReport] = field(default_factory=list)
    message: str = ""
    dry_run: bool = False
    started: float = field(default_factory=time.time)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "status": self.status,
            "message": self.message,
            "dry_run": self.dry_run,
            "started": round(self.started, 3),
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_json() for s in self.steps],
        }

    def write(self, path: Path | str) -> None:
        atomic_write_json(Path(path), self.to_json())

    def summary(self) -> str:
        auto = sum(1 for s in self.steps if s.ok and s.decision == "auto")
        healed = sum(1 for s in self.steps if s.healed)
        asked = sum(1 for s in self.steps if s.asked)
        line = (f"{self.workflow}: {self.status}, {sum(1 for s in self.steps if s.ok)}/{len(self.steps)} steps ok "
                f"({auto} automatic, {asked} asked, {healed} healed) in {self.duration_s:.1f} s")
        return line + (f": {self.message}" if self.message else "")


class Outcome(str, Enum):
    CORRECT = "correct"  # acted on the right element
    OVER_STOP = "over-stop"  # asked or stopped although the right element was there
    SAFE_STOP = "safe stop"  # stopped because the element really was not there
    SILENT_WRONG = "silent wrong"  # acted on the wrong element


def classify(step: StepReport, truth: Box | None) -> Outcome:
    """The outcome of a pointer step given where the element really was (None: not on screen).

    A step counts as correct when the replayer acted without asking and the point it acted on
    lies inside the true element; asking counts as an over-stop even when the answer was right.
    """
    if step.acted and step.located_xyxy is not None:
        hit = truth is not None and truth.contains(step.located_xyxy.center)
        if not hit:
            return Outcome.SILENT_WRONG
        return Outcome.OVER_STOP if step.asked else Outcome.CORRECT
    return Outcome.OVER_STOP if truth is not None else Outcome.SAFE_STOP


def outcome_table(outcomes: list[Outcome]) -> dict[str, int]:
    return {o.value: sum(1 for x in outcomes if x is o) for o in Outcome}
