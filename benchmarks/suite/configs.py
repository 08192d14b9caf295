"""Suite configurations: which application, how it is perturbed, and which state it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rpa_vision.core.errors import ValidationError

PERTURBATIONS = ("base", "moved", "resized", "font", "theme", "scale", "style", "relayout", "4k")
APPS = ("xcalc", "xgc", "qt")
SCREENS = {"1080p": (1920, 1080), "4k": (3840, 2160)}


@dataclass(frozen=True)
class SuiteConfig:
    """One screen of the suite.

    ``name`` is unique (it names the folder); ``perturbation`` is one of ``PERTURBATIONS`` (the
    reference screen of an application state has ``base``); ``state`` names what the
    application shows (``xcalc/idle``, ``qt/form``...). ``options`` are the launcher's keyword
    arguments (``launch_xcalc``/``launch_testapp``); ``actions`` are clicks on elements by id
    done before the capture (how the "after a computation" state is reached).
    """

    name: str
    app: str
    perturbation: str
    state: str
    screen: str = "1080p"
    options: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.app not in APPS:
            raise ValidationError(f"unknown app {self.app!r}", field="app", value=self.app)
        if self.perturbation not in PERTURBATIONS:
            raise ValidationError(f"unknown perturbation {self.perturbation!r}", field="perturbation",
                                  value=self.perturbation)
        if self.screen not in SCREENS:
            raise ValidationError(f"unknown screen {self.screen!r}", field="screen", value=self.screen)


_COMPUTE = ("xcalc/r9c1", "xcalc/r9c2", "xcalc/r9c4", "xcalc/r7c1", "xcalc/r10c4")  # 1 2 + 7 =


def _xcalc() -> list[SuiteConfig]:
    c = SuiteConfig
    return [
        c("xcalc_base", "xcalc", "base", "xcalc/idle", options={"geometry": "+140+120"}),
        c("xcalc_moved", "xcalc", "moved", "xcalc/idle", options={"geometry": "+1210+530"}),
        c("xcalc_resized", "xcalc", "resized", "xcalc/idle", options={"geometry": "300x560+140+120"}),
        c("xcalc_font", "xcalc", "font", "xcalc/idle", options={"geometry": "+140+120", "font": "10x20"}),
        c("xcalc_colors", "xcalc", "theme", "xcalc/idle",
          options={"geometry": "+140+120", "bg": "lightyellow", "fg": "navy"}),
        c("xcalc_reverse", "xcalc", "theme", "xcalc/idle", options={"geometry": "+140+120", "reverse": True}),
        c("xcalc_4k", "xcalc", "4k", "xcalc/idle", screen="4k", options={"geometry": "+1700+900"}),
        c("xcalc_result_base", "xcalc", "base", "xcalc/result", options={"geometry": "+140+120"},
          actions=_COMPUTE),
        c("xcalc_result_moved", "xcalc", "moved", "xcalc/result", options={"geometry": "+760+300"},
          actions=_COMPUTE),
        c("xcalc_result_colors", "xcalc", "theme", "xcalc/result",
          options={"geometry": "+140+120", "bg": "lightyellow", "fg": "navy"}, actions=_COMPUTE),
    ]


_XGC_RUN = ("xgc/2.0",)  # the Run button: draws the selected test (Lines) and prints its timing


def _xgc() -> list[SuiteConfig]:
    """xgc: rows of look-alike Athena toggles (ground truth from its X window tree)."""
    c = SuiteConfig
    pos = {"geometry": "+100+50"}
    colors = {"bg": "lightyellow", "fg": "navy"}
    return [
        c("xgc_base", "xgc", "base", "xgc/idle", options=dict(pos)),
        c("xgc_moved", "xgc", "moved", "xgc/idle", options={"geometry": "+900+330"}),
        c("xgc_resized", "xgc", "resized", "xgc/idle", options={"geometry": "1100x800+100+50"}),
        c("xgc_font", "xgc", "font", "xgc/idle", options={**pos, "font": "9x15"}),
        c("xgc_colors", "xgc", "theme", "xgc/idle", options={**pos, **colors}),
        c("xgc_reverse", "xgc", "theme", "xgc/idle", options={**pos, "reverse": True}),
        c("xgc_4k", "xgc", "4k", "xgc/idle", screen="4k", options={"geometry": "+1500+700"}),
        c("xgc_run_base", "xgc", "base", "xgc/run", options=dict(pos), actions=_XGC_RUN),
        c("xgc_run_moved", "xgc", "moved", "xgc/run", options={"geometry": "+700+250"}, actions=_XGC_RUN),
        c("xgc_run_colors", "xgc", "theme", "xgc/run", options={**pos, **colors}, actions=_XGC_RUN),
    ]


def _qt() -> list[SuiteConfig]:
    c = SuiteConfig
    pos = {"geometry": "+300+150"}
    return [
        c("qt_base", "qt", "base", "qt/form", options=dict(pos)),
        c("qt_moved", "qt", "moved", "qt/form", options={"geometry": "+1150+420"}),
        c("qt_resized", "qt", "resized", "qt/form", options={"geometry": "900x720+300+150"}),
        c("qt_font", "qt", "font", "qt/form", options={**pos, "font_size": 12.0}),
        c("qt_dark", "qt", "theme", "qt/form", options={**pos, "dark": True}),
        c("qt_scale125", "qt", "scale", "qt/form", options={"geometry": "+240+120", "scale": 1.25}),
        c("qt_scale150", "qt", "scale", "qt/form", options={"geometry": "+200+100", "scale": 1.5}),
        c("qt_scale200", "qt", "scale", "qt/form", options={"geometry": "+150+20", "scale": 2.0}),
        c("qt_windows", "qt", "style", "qt/form", options={**pos, "style": "Windows"}),
        c("qt_relayout", "qt", "relayout", "qt/form", options={**pos, "relayout": True}),
        c("qt_4k", "qt", "4k", "qt/form", screen="4k", options={"geometry": "+600+300", "scale": 2.0}),
        c("qt_settings_base", "qt", "base", "qt/settings", options={**pos, "page": 2}),
        c("qt_settings_dark", "qt", "theme", "qt/settings", options={**pos, "page": 2, "dark": True}),
        c("qt_settings_scale150", "qt", "scale", "qt/settings",
          options={"geometry": "+200+100", "page": 2, "scale": 1.5}),
        c("qt_dialog_base", "qt", "base", "qt/dialog", options={**pos, "page": 3}),
        c("qt_dialog_moved", "qt", "moved", "qt/dialog", options={"geometry": "+900+300", "page": 3}),
        c("qt_dialog_dark", "qt", "theme", "qt/dialog", options={**pos, "page": 3, "dark": True}),
    ]


def _qt_full() -> list[SuiteConfig]:
    """Combinations the compact suite leaves out (built with ``--full``)."""
    c = SuiteConfig
    out = []
    for scale in (1.25, 1.5, 2.0):
        for style in ("Fusion", "Windows"):
            out.append(c(f"qt_{style.lower()}_dark_scale{int(scale * 100)}", "qt", "scale", "qt/form",
                         options={"geometry": "+100+60", "scale": scale, "style": style, "dark": True}))
    out.append(c("qt_4k_scale150", "qt", "4k", "qt/form", screen="4k", options={"geometry": "+900+400", "scale": 1.5}))
    out.append(c("qt_4k_dark", "qt", "4k", "qt/form", screen="4k",
                 options={"geometry": "+300+200", "scale": 2.0, "dark": True}))
    out.append(c("qt_relayout_dark_scale150", "qt", "relayout", "qt/form",
                 options={"geometry": "+200+100", "scale": 1.5, "relayout": True, "dark": True}))
    out.append(c("qt_settings_4k", "qt", "4k", "qt/settings", screen="4k",
                 options={"geometry": "+600+300", "scale": 2.0, "page": 2}))
    return out


def _xcalc_full() -> list[SuiteConfig]:
    c = SuiteConfig
    return [
        c("xcalc_font_colors", "xcalc", "font", "xcalc/idle",
          options={"geometry": "+400+200", "font": "9x15", "bg": "gray80"}),
        c("xcalc_resized_wide", "xcalc", "resized", "xcalc/idle", options={"geometry": "420x480+500+100"}),
        c("xcalc_4k_font", "xcalc", "4k", "xcalc/idle", screen="4k",
          options={"geometry": "+2400+1200", "font": "10x20"}),
    ]


def compact_configs() -> list[SuiteConfig]:
    return _xcalc() + _xgc() + _qt()


def full_configs() -> list[SuiteConfig]:
    return compact_configs() + _xcalc_full() + _qt_full()
