"""What the app plugs together: the backends (real or fake), the home folder, and the builders of
recording and replay sessions from the user's settings. No widgets here."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rpa_vision.core.errors import StorageError
from rpa_vision.core.geometry import Box
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths
from rpa_vision.core.settings import Settings

log = get_logger("ui.services")

HOME_KEY = "home"


@dataclass
class Backends:
    """Factories for every hardware boundary; None = the real one (mss, pynput, the Locator).

    Tests and demos hand in the library's fakes (``FakeScreenSource``, ``FakeInputRecorder``,
    ``FakeInputPlayer``) and a scripted locator.
    """

    screen_source: Callable[[], Any] | None = None
    input_recorder: Callable[[], Any] | None = None  # for recording
    hotkey_recorder: Callable[[], Any] | None = None  # for the global hotkeys
    player: Callable[[], Any] | None = None
    locator: Any = None
    encoder: Callable[[str, Path], Any] | None = None
    global_hotkeys: bool = True
    tray: bool = True
    watch: bool = True  # start the capture loop with the window
    finetune: bool = True  # run the fine-tuner (learns from the answers given in replays)

    def make_source(self) -> Any:
        if self.screen_source is not None:
            return self.screen_source()
        from rpa_vision.capture import create_screen_source

        return create_screen_source("mss")

    def make_encoder(self, name: str, home: Path) -> Any:
        if self.encoder is not None:
            return self.encoder(name, home)
        from rpa_vision.embedding import create_encoder

        return create_encoder(name) if name == "builtin" else create_encoder(name, home=home)


LOCATOR_ENCODER = "builtin"  # the encoder replays locate elements with (rpa_vision.locate.backends)


class SharedEncoders:
    """One encoder per (name, home) for the whole app: the watcher and the fine-tuner embed with the
    same instance (a CLIP model is loaded once). Built on first use, on the caller's thread."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self._lock = threading.Lock()
        self._made: dict[tuple[str, str], Any] = {}

    def get(self, name: str, home: Path) -> Any:
        key = (name, str(home))
        with self._lock:  # a second caller waits for the first one's model instead of loading another
            enc = self._made.get(key)
            if enc is None:
                enc = self._made[key] = self.backends.make_encoder(name, home)
            return enc

    def forget_others(self, name: str, home: Path) -> None:
        """Drop every encoder but the one in use and the replays' (after the setting changed)."""
        with self._lock:
            keep = {(name, str(home)), (LOCATOR_ENCODER, str(home))}  # the fine-tuner's stays
            self._made = {k: v for k, v in self._made.items() if k in keep}


# --- the home folder ---------------------------------------------------------------------------------
def _qsettings() -> Any:
    from PySide6.QtCore import QSettings

    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "rpa-vision", "app")


def saved_home() -> Path | None:
    """The home folder chosen in the settings dialog on an earlier run, if any."""
    value = _qsettings().value(HOME_KEY)
    return Path(str(value)) if value else None


def remember_home(path: Path) -> None:
    s = _qsettings()
    s.setValue(HOME_KEY, str(path))
    s.sync()


def resolve_home(explicit: str | os.PathLike[str] | None) -> Paths:
    """``--home`` first, then ``RPA_VISION_HOME``, then the folder chosen in the app, then the default."""
    if explicit:
        return Paths.resolve(explicit)
    if os.environ.get("RPA_VISION_HOME"):
        return Paths.resolve()
    chosen = saved_home()
    return Paths.resolve(chosen) if chosen is not None else Paths.resolve()


def check_home_writable(paths: Paths) -> str:
    """'' when the home folder can be created and written, else a one-line reason."""
    try:
        paths.ensure(paths.workflows)
        fd, tmp = tempfile.mkstemp(prefix=".write-test-", dir=paths.home)
        os.close(fd)
        os.unlink(tmp)
    except StorageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write in {paths.home}: {exc.strerror or exc}"
    return ""


# --- recording ---------------------------------------------------------------------------------------
def drop_steps_inside(wf: Any, images: dict[str, bytes], rects: Sequence[Box]) -> tuple[Any, dict[str, bytes]]:
    """Remove the trailing pointer steps on the app's own window (the click on its Stop button).

    Only the end of the recording is trimmed: earlier clicks in that area went to whatever window
    was on top there at the time, which the recording cannot tell apart.
    """
    keep = list(wf.steps)
    while keep:
        p = keep[-1].action.point
        if keep[-1].action.is_pointer and p is not None and any(r.contains(p) for r in rects):
            keep.pop()
        else:
            break
    if len(keep) == len(wf.steps):
        return wf, images
    steps = tuple(replace(s, index=i) for i, s in enumerate(keep))
    new = replace(wf, steps=steps)
    used = set(new.files())
    return new, {k: v for k, v in images.items() if k in used}


def recorder_config(settings: Settings) -> Any:
    from rpa_vision.workflow.recorder import DEFAULT_STOP_HOTKEYS, RecorderConfig, parse_hotkey

    stop = parse_hotkey(settings.stop_hotkey)
    stops = tuple(dict.fromkeys((stop, *DEFAULT_STOP_HOTKEYS)))
    return RecorderConfig(stop_hotkeys=stops, secret_hotkey=parse_hotkey(settings.secret_hotkey))


def build_recording(name: str, settings: Settings, backends: Backends) -> Any:
    from rpa_vision.workflow.runtime import build_recorder

    return build_recorder(
        name, config=recorder_config(settings), use_ocr=settings.ocr,
        source=backends.make_source(),
        input_source=backends.input_recorder() if backends.input_recorder is not None else None,
    )


# --- replay ------------------------------------------------------------------------------------------
class AppPerformer:
    """Acts through the library's ``InputPerformer``: a ``SafePlayer`` under the ``FailSafe``, which
    listens for the library's abort hotkeys itself and which the app's abort hotkey also triggers."""

    def __init__(self, player: Any, monitors: Sequence[Any], *, listen: bool) -> None:
        from rpa_vision.workflow.runtime import InputPerformer

        self.inner = InputPerformer(player=player, backend="pynput" if listen else "fake", monitors=monitors,
                                    listen=listen)
        self.failsafe = self.inner.failsafe

    def perform(self, action: Any) -> None:
        self.inner.perform(action)

    def abort(self, reason: str) -> None:
        self.failsafe.trigger(reason)

    def close(self) -> None:
        self.inner.close()


def replay_config(settings: Settings, dry_run: bool) -> Any:
    from rpa_vision.workflow.replayer import ReplayConfig

    return ReplayConfig(min_confidence=settings.auto_confidence,
                        floor_confidence=min(settings.min_confidence, settings.auto_confidence),
                        on_low_confidence="ask", dry_run=dry_run)


def build_replay(name: str, paths: Paths, settings: Settings, backends: Backends, decider: Any, observer: Any,
                 dry_run: bool, on_performer: Callable[[AppPerformer], None] | None = None,
                 feedback: Any = None) -> Any:
    """A replayer for ``name``; answers, corrections and healed steps go to ``feedback`` (the app's
    fine-tuner), else to the example store on disk."""
    from rpa_vision.workflow.runtime import build_replayer

    source = backends.make_source()
    performer = None
    if not dry_run:
        real = backends.player is None
        if real:
            from rpa_vision.input import create_input_player

            player = create_input_player("pynput")
        else:
            player = backends.player()  # type: ignore[misc]
        monitors = source.monitors() if callable(getattr(source, "monitors", None)) else ()
        performer = AppPerformer(player, monitors, listen=real)
        if on_performer is not None:
            on_performer(performer)
    return build_replayer(name, paths, decider, config=replay_config(settings, dry_run), observer=observer,
                          source=source, performer=performer, locator=backends.locator, feedback=feedback)
