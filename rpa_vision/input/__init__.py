"""Mouse and keyboard: recorders (listen), players (act), the action normaliser, the fail-safe.

Importing this package touches no input device; pynput is imported when a backend is created.
"""

from rpa_vision.input.base import InputPlayer, InputRecorder
from rpa_vision.input.factory import (
    PLAYERS,
    RECORDERS,
    create_input_player,
    create_input_recorder,
    input_backend_status,
)
from rpa_vision.input.failsafe import DEFAULT_ABORT_HOTKEYS, FailSafe, SafePlayer
from rpa_vision.input.fake import FakeInputPlayer, FakeInputRecorder
from rpa_vision.input.keys import normalize_key, parse_hotkey
from rpa_vision.input.normalize import DEFAULT_STOP_HOTKEY, DEFAULT_STOP_HOTKEYS, ActionNormalizer, NormalizerConfig
from rpa_vision.input.play import ActionPerformer, moved, perform

__all__ = [
    "DEFAULT_ABORT_HOTKEYS",
    "DEFAULT_STOP_HOTKEY",
    "DEFAULT_STOP_HOTKEYS",
    "PLAYERS",
    "RECORDERS",
    "ActionNormalizer",
    "ActionPerformer",
    "FailSafe",
    "FakeInputPlayer",
    "FakeInputRecorder",
    "InputPlayer",
    "InputRecorder",
    "NormalizerConfig",
    "SafePlayer",
    "create_input_player",
    "create_input_recorder",
    "input_backend_status",
    "moved",
    "normalize_key",
    "parse_hotkey",
    "perform",
]
