"""The real collaborators of the recorder and the replayer, built lazily from the library.

``build_replayer`` / ``build_recorder`` wire the screen (``rpa_vision.capture``), the input
devices (``rpa_vision.input``), the ROI optimizer, the Locator and the fine-tuner's example
store together. Nothing here is imported by the core loop of the recorder or replayer, so their
tests run with fakes; the desktop app and the command line use these builders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rpa_vision.core.errors import DisplayUnavailableError, RpaVisionError
from rpa_vision.core.events import Action
from rpa_vision.core.frame import Frame
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.workflow.decisions import DecisionProvider, Located
from rpa_vision.workflow.feedback import ExampleStoreSink, FeedbackSink
from rpa_vision.workflow.query import TargetQuery
from rpa_vision.workflow.recorder import FrameRing, Recorder, RecorderConfig
from rpa_vision.workflow.replayer import ReplayConfig, Replayer, ReplayEvent
from rpa_vision.workflow.state import StateEncoder, ThumbnailStateEncoder
from rpa_vision.workflow.store import WorkflowStore
from rpa_vision.workflow.targets import TargetFinder

log = get_logger(__name__)


class SourceFrames:
    """``grab()`` of one monitor of a ``ScreenSource``."""

    def __init__(self, source: Any, monitor: int = 1) -> None:
        self.source = source
        self.monitor = monitor

    def grab(self) -> Frame:
        frame: Frame = self.source.grab(self.monitor)
        return frame


class LocatorAdapter:
    """Runs ``rpa_vision.locate.Locator`` for a replay query: the recorded target (with its
    reference screenshot and anchors) and up to ``max_looks`` healed looks (those seen on screens
    most like the current one), candidates merged best first."""

    def __init__(self, locator: Any = None, max_looks: int = 2) -> None:
        self.max_looks = max_looks
        if locator is None:
            from rpa_vision.locate import Locator

            locator = Locator()
        self.locator = locator

    def _specs(self, q: TargetQuery, frame: Frame) -> list[Any]:
        from rpa_vision.locate import Anchor as LAnchor
        from rpa_vision.locate import TargetSpec

        same_size = q.scale == (1.0, 1.0)
        text = q.text or None  # "" in a recording means "not read": let the locator read it
        specs = [TargetSpec(
            q.crop, q.box, q.reference, text,
            tuple(LAnchor(a.text, a.xyxy) for a in q.anchors if a.text and a.xyxy.area > 0),
            q.window_box if q.window_box is not None and q.window_box.area > 0 else None,
            q.last_box if same_size else None, None, q.reference_scale,
        )]
        for crop, box, shot in q.prototypes[: self.max_looks]:  # best first
            if box.area > 0 and crop.size:
                specs.append(TargetSpec(crop, box, shot, text, (), None, box, None, frame.monitor.scale))
        return specs

    def locate(self, query: TargetQuery, frame: Frame, top_k: int) -> Sequence[Located]:
        out: list[Located] = []
        for spec in self._specs(query, frame):
            for c in self.locator.locate(spec, frame, top_k):
                cand = Located(c.box, float(c.confidence), float(c.score), dict(c.evidence))
                dup = next((i for i, o in enumerate(out) if o.box.iou(cand.box) > 0.5), None)
                if dup is None:
                    out.append(cand)
                elif cand.confidence > out[dup].confidence:
                    out[dup] = cand
        return sorted(out, key=lambda c: -c.confidence)[:top_k]


class InputPerformer:
    """Acts through ``rpa_vision.input``: a ``SafePlayer`` guarded by the ``FailSafe`` (abort
    hotkey ctrl+alt+esc or pause, pointer in a screen corner) and ``perform(player, action)``."""

    def __init__(self, player: Any = None, backend: str = "pynput", monitors: Sequence[Any] = (),
                 *, listen: bool = True) -> None:
        from rpa_vision.input import FailSafe, SafePlayer, create_input_player, create_input_recorder, perform

        inner = player if player is not None else create_input_player(backend)
        listener = create_input_recorder(backend) if listen and backend != "fake" else None
        self.failsafe = FailSafe(listener, inner, list(monitors))
        self.failsafe.start()
        self.player = SafePlayer(inner, self.failsafe)
        self._perform = perform

    def perform(self, action: Action) -> None:
        self._perform(self.player, action)

    def close(self) -> None:
        self.failsafe.stop()


def ocr_reader(ocr: Any) -> Callable[[np.ndarray], str] | None:
    """Adapts an OCR engine with ``read([bgr, ...]) -> [text, ...]`` to one crop -> text."""
    if ocr is None:
        return None

    from rpa_vision.locate.backends import ocr_read

    def read(crop: np.ndarray) -> str:
        texts = ocr_read(ocr, [crop])
        return str(texts[0]) if texts else ""

    return read


def default_ocr() -> Any:
    """The library's OCR engine when one is installed, else None (recording works without)."""
    try:
        from rpa_vision.locate import backends

        return backends.default_ocr()
    except (ImportError, RpaVisionError) as exc:
        log.info("no OCR: %s", exc)
        return None


@dataclass
class RecordingSession:
    recorder: Recorder
    loop: Any
    source: Any

    def close(self) -> None:
        try:
            self.loop.stop()
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()


def build_recorder(
    name: str,
    *,
    input_backend: str = "pynput",
    screen_backend: str = "mss",
    monitor: int = 1,
    rate_hz: float = 8.0,
    config: RecorderConfig | None = None,
    use_ocr: bool = True,
    state_encoder: StateEncoder | None = None,
    source: Any = None,
    input_source: Any = None,
) -> RecordingSession:
    """A recorder listening to the real input devices and watching the real screen."""
    from rpa_vision.capture import CaptureLoop, create_screen_source
    from rpa_vision.input import ActionNormalizer, create_input_recorder
    from rpa_vision.roi import ROIOptimizer

    src = source if source is not None else create_screen_source(screen_backend)
    try:
        first = src.grab(monitor)
    except RpaVisionError as exc:
        raise DisplayUnavailableError(f"cannot see the screen: {exc}") from exc
    ring = FrameRing()
    ring.push(first)
    loop = CaptureLoop(src, rate_hz=rate_hz, monitor=monitor)
    loop.subscribe(lambda cf: ring.push(cf.frame))
    roi = ROIOptimizer()
    finder = TargetFinder(lambda f: roi.propose(f).regions, ocr_reader(default_ocr()) if use_ocr else None)
    cfg = config or RecorderConfig()
    normalizer = ActionNormalizer()
    rec = Recorder(name, input_source if input_source is not None else create_input_recorder(input_backend),
                   normalizer, ring, finder, state_encoder or ThumbnailStateEncoder(), config=cfg)
    normalizer.on_stop = lambda: rec.stop("stop hotkey")
    loop.start()
    return RecordingSession(rec, loop, src)


def build_replayer(
    name: str,
    paths: Paths,
    decider: DecisionProvider,
    *,
    config: ReplayConfig | None = None,
    observer: Callable[[ReplayEvent], None] | None = None,
    screen_backend: str = "mss",
    input_backend: str = "pynput",
    monitor: int = 1,
    source: Any = None,
    performer: Any = None,
    locator: Any = None,
    feedback: FeedbackSink | None = None,
    state_encoder: StateEncoder | None = None,
) -> Replayer:
    """A replayer on the real screen and input devices (any piece can be handed in instead)."""
    store = WorkflowStore(paths)
    wf = store.load(name)
    if source is None:
        from rpa_vision.capture import create_screen_source

        source = create_screen_source(screen_backend)
    frames = SourceFrames(source, monitor)
    cfg = config or ReplayConfig()
    try:
        monitors = list(source.monitors())
    except RpaVisionError as exc:  # no display: the first grab of the replay reports it clearly
        log.info("no monitors: %s", exc)
        monitors = []
    if performer is None and not cfg.dry_run:
        performer = InputPerformer(backend=input_backend, monitors=monitors)
    if locator is None:  # fine-tuner hook: the Locator uses the current adapter of its encoder
        locator = adapted_locator(paths)
    return Replayer(
        wf, store, frames, LocatorAdapter(locator), performer or _NoPerformer(), decider,
        state_encoder or ThumbnailStateEncoder(), feedback=feedback or ExampleStoreSink(paths),
        config=cfg, observer=observer, monitors=monitors,
    )


def adapted_locator(paths: Paths, config: Any = None) -> Any:
    """(Fine-tuner hook.) A Locator on the default encoder, bound to that encoder's current
    fine-tuned adapter under ``paths`` (it follows later swaps made in this process)."""
    from rpa_vision.finetune.wiring import bind_current_adapter
    from rpa_vision.locate import Locator
    from rpa_vision.locate.backends import default_encoder

    encoder = default_encoder()
    locator = Locator(encoder=encoder, config=config)
    bind_current_adapter(locator, paths, encoder)
    return locator


class _NoPerformer:
    def perform(self, action: Action) -> None:  # dry runs never act
        raise RpaVisionError("internal error: a dry run tried to act")
