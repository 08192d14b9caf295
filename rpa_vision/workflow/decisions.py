"""What the replayer asks a person when it is unsure, and the providers that answer.

``DecisionProvider`` is the interface: the terminal prompt here, a scripted one for tests, and
the desktop app's dialog (in ``ui/``) implement it. A request carries everything a person needs
to judge: the step, the recorded target crop, the current screenshot and the ranked candidates.
"""

from __future__ import annotations

import getpass
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TextIO

import numpy as np

from rpa_vision.core.errors import ReplayAborted, ValidationError
from rpa_vision.core.events import Action
from rpa_vision.core.geometry import Box


@dataclass(frozen=True)
class Located:
    """A candidate position of a target on the current screen (frame pixels)."""

    box: Box
    confidence: float
    score: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0):
            raise ValidationError(f"confidence must be in [0, 1], got {self.confidence}", field="confidence")


class DecisionKind(str, Enum):
    CONFIRM = "confirm"  # act on the best candidate
    CHOOSE = "choose"  # act on this box instead (a correction)
    SKIP = "skip"  # leave this step out and go on
    ABORT = "abort"  # stop the replay


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    box: Box | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind is DecisionKind.CHOOSE and self.box is None:
            raise ValidationError("a 'choose' decision needs a box", field="box")

    @classmethod
    def confirm(cls) -> Decision:
        return cls(DecisionKind.CONFIRM)

    @classmethod
    def choose(cls, box: Box) -> Decision:
        return cls(DecisionKind.CHOOSE, box)

    @classmethod
    def skip(cls, reason: str = "") -> Decision:
        return cls(DecisionKind.SKIP, reason=reason)

    @classmethod
    def abort(cls, reason: str = "") -> Decision:
        return cls(DecisionKind.ABORT, reason=reason)


@dataclass(frozen=True, eq=False)
class DecisionRequest:
    """One question to a person: is this the element the step acts on?"""

    workflow: str
    step_index: int
    step_count: int
    action: Action
    description: str
    reason: str  # why the replayer asks ("confidence 0.62 below 0.80", "not found")
    target_crop: np.ndarray | None  # the recorded element (BGR)
    screenshot: np.ndarray | None  # the current screen (BGR)
    candidates: tuple[Located, ...]  # best first, boxes in screenshot pixels
    min_confidence: float = 0.8


class DecisionProvider(ABC):
    """Answers the replayer's questions (a terminal, a dialog, a script)."""

    @abstractmethod
    def decide(self, request: DecisionRequest) -> Decision:
        """Confirm the best candidate, choose another box, skip the step or abort."""

    @abstractmethod
    def ask_secret(self, name: str) -> str:
        """The value of the secret ``name`` (typed text that was not recorded)."""


class ScriptedDecisionProvider(DecisionProvider):
    """Answers from a list (or a function) and remembers every request; for tests and demos."""

    def __init__(
        self,
        decisions: Iterable[Decision] | Callable[[DecisionRequest], Decision] = (),
        secrets: dict[str, str] | None = None,
        default: Decision | None = None,
    ) -> None:
        self._fn = decisions if callable(decisions) else None
        self._queue = [] if callable(decisions) else list(decisions)
        self.secrets = dict(secrets or {})
        self.default = default
        self.requests: list[DecisionRequest] = []
        self.secret_requests: list[str] = []

    def decide(self, request: DecisionRequest) -> Decision:
        self.requests.append(request)
        if self._fn is not None:
            return self._fn(request)
        if self._queue:
            return self._queue.pop(0)
        if self.default is not None:
            return self.default
        return Decision.abort("the script has no more answers")

    def ask_secret(self, name: str) -> str:
        self.secret_requests.append(name)
        if name not in self.secrets:
            raise ReplayAborted(f"no value for secret {name!r}")
        return self.secrets[name]


class TerminalDecisionProvider(DecisionProvider):
    """Asks on the terminal; without one it aborts with a message saying what to do instead."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stderr

    def _interactive(self) -> bool:
        try:
            return bool(self.stdin.isatty())
        except (AttributeError, ValueError):
            return False

    def decide(self, request: DecisionRequest) -> Decision:
        if not self._interactive():
            raise ReplayAborted(
                f"step {request.step_index + 1} needs a decision ({request.reason}) but there is no terminal "
                "to ask; use --on-low-confidence abort|skip|accept or run from a terminal",
                step=request.step_index,
            )
        out = self.stdout
        print(f"\nstep {request.step_index + 1}/{request.step_count}: {request.description}", file=out)
        print(f"  unsure: {request.reason}", file=out)
        for i, c in enumerate(request.candidates[:9], 1):
            b = c.box
            print(f"  [{i}] confidence {c.confidence:.2f} at {int(b.x1)},{int(b.y1)},{int(b.x2)},{int(b.y2)}",
                  file=out)
        opts = "Enter = act on [1], 2-9 = another candidate, s = skip, a = abort"
        if not request.candidates:
            opts = "s = skip, a = abort"
        while True:
            print(f"  {opts}: ", end="", file=out, flush=True)
            line = self.stdin.readline()
            if not line:
                return Decision.abort("end of input")
            ans = line.strip().lower()
            if ans in ("a", "abort", "q"):
                return Decision.abort("aborted at the prompt")
            if ans in ("s", "skip"):
                return Decision.skip("skipped at the prompt")
            if request.candidates and ans in ("", "y", "yes", "1"):
                return Decision.confirm()
            if ans.isdigit() and 2 <= int(ans) <= min(9, len(request.candidates)):
                return Decision.choose(request.candidates[int(ans) - 1].box)
            print("  ? not understood", file=out)

    def ask_secret(self, name: str) -> str:
        if not self._interactive():
            raise ReplayAborted(
                f"the workflow types the secret {name!r}: set RPA_VISION_SECRET_{secret_env_name(name)} "
                "or run from a terminal"
            )
        return getpass.getpass(f"value of secret {name!r}: ", stream=self.stdout)


class PolicyDecisionProvider(DecisionProvider):
    """Answers without asking: ``abort``, ``skip`` or ``accept`` (the best candidate)."""

    def __init__(self, policy: str, secrets: DecisionProvider | None = None) -> None:
        if policy not in ("abort", "skip", "accept"):
            raise ValidationError(f"unknown policy {policy!r}; valid: abort, skip, accept", field="policy")
        self.policy = policy
        self._secrets = secrets

    def decide(self, request: DecisionRequest) -> Decision:
        if self.policy == "accept" and request.candidates:
            return Decision.confirm()
        if self.policy == "skip":
            return Decision.skip(f"skipped by policy ({request.reason})")
        return Decision.abort(f"stopped by policy ({request.reason})")

    def ask_secret(self, name: str) -> str:
        if self._secrets is None:
            raise ReplayAborted(f"the workflow types the secret {name!r}: set "
                                f"RPA_VISION_SECRET_{secret_env_name(name)}")
        return self._secrets.ask_secret(name)


def secret_env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).upper()
