"""Input backends by name (``pynput``, ``fake``), imported lazily, and the doctor's status line."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rpa_vision.core.errors import InputBackendError, RpaVisionError, UnknownNameError
from rpa_vision.input.base import InputPlayer, InputRecorder


def _pynput_recorder(**kw: Any) -> InputRecorder:
    from rpa_vision.input.pynput_backend import PynputRecorder

    return PynputRecorder(**kw)


def _pynput_player(**kw: Any) -> InputPlayer:
    from rpa_vision.input.pynput_backend import PynputPlayer

    return PynputPlayer(**kw)


def _fake_recorder(**kw: Any) -> InputRecorder:
    from rpa_vision.input.fake import FakeInputRecorder

    return FakeInputRecorder(**kw)


def _fake_player(**kw: Any) -> InputPlayer:
    from rpa_vision.input.fake import FakeInputPlayer

    return FakeInputPlayer(**kw)


#: ``auto`` is the real backend of this platform (pynput everywhere today); it never falls back to
#: a fake, so a replay can not silently act on nothing.
RECORDERS: dict[str, Callable[..., InputRecorder]] = {
    "pynput": _pynput_recorder, "auto": _pynput_recorder, "fake": _fake_recorder,
}
PLAYERS: dict[str, Callable[..., InputPlayer]] = {
    "pynput": _pynput_player, "auto": _pynput_player, "fake": _fake_player,
}


def create_input_recorder(name: str = "pynput", **kw: Any) -> InputRecorder:
    try:
        make = RECORDERS[name]
    except KeyError:
        raise UnknownNameError("input recorder", name, RECORDERS) from None
    return make(**kw)


def create_input_player(name: str = "pynput", **kw: Any) -> InputPlayer:
    try:
        make = PLAYERS[name]
    except KeyError:
        raise UnknownNameError("input player", name, PLAYERS) from None
    return make(**kw)


def input_backend_status(timeout_s: float = 5.0) -> str:
    """One line on whether pynput can listen and act here; raises a clear error when it cannot.

    Never hangs: the probe runs in a helper thread and gives up after ``timeout_s``.
    """
    from rpa_vision.input.pynput_backend import display_missing, load_pynput

    why = display_missing()
    if why:
        from rpa_vision.core.errors import DisplayUnavailableError

        raise DisplayUnavailableError(f"input: {why}", backend="pynput")
    result: dict[str, object] = {}

    def probe() -> None:
        try:
            mouse, _keyboard = load_pynput()
            x, y = mouse.Controller().position
            result["ok"] = f"pointer at ({int(x)}, {int(y)})"
        except RpaVisionError as exc:
            result["err"] = exc
        except Exception as exc:  # pynput/Xlib raise platform-specific errors
            result["err"] = InputBackendError(f"input backend pynput failed: {exc}", backend="pynput")

    th = threading.Thread(target=probe, name="rpa-vision-input-probe", daemon=True)
    th.start()
    th.join(timeout_s)
    if th.is_alive():
        raise InputBackendError(f"input backend pynput did not answer within {timeout_s:.0f} s", backend="pynput")
    err = result.get("err")
    if isinstance(err, BaseException):
        raise err
    try:
        from importlib.metadata import version

        ver = version("pynput")
    except Exception:  # metadata missing in odd installs; the version is cosmetic
        ver = "?"
    return f"pynput {ver}, {result.get('ok', '')}"
