"""The user's settings, persisted as ``<home>/settings.json`` between runs.

``Settings`` is a frozen, validated dataclass. ``load_settings`` never fails on a bad file: a
corrupt or invalid file is moved aside as ``settings.json.bad-<timestamp>``, the defaults are
used, and the returned warning says so. ``save_settings`` writes atomically.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rpa_vision.core.atomic import atomic_write_json, read_json
from rpa_vision.core.errors import CorruptFileError, StorageError, ValidationError
from rpa_vision.core.logging import get_logger
from rpa_vision.core.paths import Paths

log = get_logger(__name__)

SETTINGS_SCHEMA_VERSION = 1
THEMES = ("system", "light", "dark")
_MODIFIERS = frozenset({"ctrl", "shift", "alt", "cmd", "super", "win", "meta"})


def _check_hotkey(field_name: str, text: str) -> None:
    keys = [k.strip().lower() for k in text.split("+")]
    if not text or any(not k for k in keys) or all(k in _MODIFIERS for k in keys):
        raise ValidationError(
            f"{field_name} must look like 'ctrl+shift+f12' (modifiers and one key), got {text!r}",
            field=field_name, value=text,
        )


def _check_unit(field_name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value)
                                                                               and 0.0 < value <= 1.0):
        raise ValidationError(f"{field_name} must be a number in (0, 1], got {value!r}", field=field_name,
                              value=value)


@dataclass(frozen=True)
class Settings:
    """Everything the user can set in the app (and the command line reads where it applies)."""

    auto_confidence: float = 0.8  # a replay step acts without asking at or above this
    min_confidence: float = 0.35  # below this a candidate counts as "not found"
    capture_rate_hz: float = 2.0  # capture rate while idle (watching)
    encoder: str = "auto"
    stop_hotkey: str = "ctrl+alt+esc"  # stops a recording (the library's default; pause works too)
    abort_hotkey: str = "ctrl+alt+esc"  # aborts a replay (the fail-safe's default)
    secret_hotkey: str = "ctrl+shift+f11"  # toggles secret typing while recording
    ocr: bool = True
    theme: str = "system"
    watch: bool = True  # while-you-work: offer to finish workflows whose start is on screen
    suggest_confidence: float = 0.9  # how sure the app must be before it offers a workflow

    def __post_init__(self) -> None:
        _check_unit("auto_confidence", self.auto_confidence)
        _check_unit("min_confidence", self.min_confidence)
        _check_unit("suggest_confidence", self.suggest_confidence)
        if self.min_confidence > self.auto_confidence:
            raise ValidationError(
                f"min_confidence ({self.min_confidence}) must not exceed auto_confidence ({self.auto_confidence})",
                field="min_confidence", value=self.min_confidence,
            )
        rate = self.capture_rate_hz
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate)
                                                                                 and 0.1 <= rate <= 60.0):
            raise ValidationError(f"capture_rate_hz must be in [0.1, 60], got {rate!r}", field="capture_rate_hz",
                                  value=rate)
        if not isinstance(self.encoder, str) or not self.encoder.strip():
            raise ValidationError("encoder must be a non-empty name (auto, builtin, clip)", field="encoder",
                                  value=self.encoder)
        for name in ("stop_hotkey", "abort_hotkey", "secret_hotkey"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValidationError(f"{name} must be text", field=name, value=value)
            _check_hotkey(name, value)
        secret = self.secret_hotkey.lower()
        if secret in (self.stop_hotkey.lower(), self.abort_hotkey.lower()):
            raise ValidationError("the secret typing hotkey must differ from the stop and abort hotkeys",
                                  field="secret_hotkey", value=self.secret_hotkey)
        for name in ("ocr", "watch"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"{name} must be true or false", field=name, value=getattr(self, name))
        if self.theme not in THEMES:
            raise ValidationError(f"theme must be one of {', '.join(THEMES)}, got {self.theme!r}", field="theme",
                                  value=self.theme)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SETTINGS_SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, doc: Any) -> Settings:
        """Settings from a parsed document; unknown keys are ignored, missing ones take defaults."""
        if not isinstance(doc, dict):
            raise ValidationError("settings must be a JSON object", field="settings")
        version = doc.get("schema_version", SETTINGS_SCHEMA_VERSION)
        if version != SETTINGS_SCHEMA_VERSION:
            raise ValidationError(f"settings schema_version {version!r} is not supported "
                                  f"(this version reads {SETTINGS_SCHEMA_VERSION})", field="schema_version")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        if isinstance(values.get("capture_rate_hz"), int) and not isinstance(values["capture_rate_hz"], bool):
            values["capture_rate_hz"] = float(values["capture_rate_hz"])
        return cls(**values)

    def updated(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    warning: str = ""  # non-empty when the file was unusable and the defaults were restored
    moved_to: Path | None = None  # where the bad file was kept


def settings_path(paths: Paths | None = None) -> Path:
    return (paths or Paths.resolve()).settings_file


def load_settings(paths: Paths | None = None) -> LoadedSettings:
    """The saved settings, or the defaults (missing file: quietly; bad file: moved aside, warned)."""
    path = settings_path(paths)
    if not path.exists():
        return LoadedSettings(Settings())
    try:
        return LoadedSettings(Settings.from_json(read_json(path)))
    except (CorruptFileError, ValidationError, TypeError) as exc:
        reason = exc.reason if isinstance(exc, CorruptFileError) else str(exc)
    except StorageError as exc:  # unreadable (permissions): keep the file, use the defaults
        warning = f"cannot read the settings ({exc}); using the defaults"
        log.warning("%s", warning)
        return LoadedSettings(Settings(), warning)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bad = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while bad.exists():
        bad = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, bad)
    except OSError as exc:
        warning = (f"the settings file {path} is unusable ({reason}) and could not be moved aside "
                   f"({exc.strerror or exc}); using the defaults")
        log.warning("%s", warning)
        return LoadedSettings(Settings(), warning)
    warning = f"the settings file was unusable ({reason}); defaults restored, the bad file kept as {bad.name}"
    log.warning("%s", warning)
    return LoadedSettings(Settings(), warning, bad)


def save_settings(settings: Settings, paths: Paths | None = None) -> Path:
    """Write the settings atomically; ``StorageError`` when the home folder is not writable."""
    if not isinstance(settings, Settings):
        raise ValidationError("save_settings needs a Settings", field="settings")
    path = settings_path(paths)
    atomic_write_json(path, settings.to_json())
    return path
