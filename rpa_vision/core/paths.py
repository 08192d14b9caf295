"""Where user state lives: ``RPA_VISION_HOME`` when set, else the platform's user data folder.

Nothing here touches the disk until ``Paths.ensure()`` is called.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from rpa_vision.core.errors import StorageError

ENV_HOME = "RPA_VISION_HOME"
APP_DIR_NAME = "rpa-vision"


def default_home() -> Path:
    """The platform's user data folder for RPA Vision (not created)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "RPA Vision"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "RPA Vision"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


@dataclass(frozen=True)
class Paths:
    """The layout of a home folder. Build with ``Paths.resolve(override)``."""

    home: Path

    @classmethod
    def resolve(cls, override: str | os.PathLike[str] | None = None) -> Paths:
        return cls(Path(override).expanduser().resolve() if override else default_home().resolve())

    @property
    def workflows(self) -> Path:
        return self.home / "workflows"

    @property
    def index(self) -> Path:
        return self.home / "index"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def models(self) -> Path:
        """Downloaded or user-provided model weights."""
        return self.home / "models"

    @property
    def adapters(self) -> Path:
        return self.home / "adapters"

    @property
    def finetune(self) -> Path:
        return self.home / "finetune"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    def ensure(self, *subdirs: Path) -> Paths:
        """Create the home folder (and the given sub-folders); a clear error when that fails."""
        for d in (self.home, *subdirs):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create folder {d}: {exc.strerror or exc}", path=d) from exc
        return self
