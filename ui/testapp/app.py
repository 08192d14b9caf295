"""Command line of the test application and its geometry dump (ground truth for the test bed)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

SCHEMA_VERSION = 1

_KINDS = {
    "QPushButton": "button", "QToolButton": "tool", "QCheckBox": "checkbox", "QRadioButton": "radio",
    "QLineEdit": "edit", "QComboBox": "combo", "QSpinBox": "spin", "QSlider": "slider",
    "QListWidget": "list", "QPlainTextEdit": "text", "QLabel": "label",
}

_TIGHT = ("QCheckBox", "QRadioButton", "QLabel")


def parse_geometry(text: str) -> tuple[int | None, int | None, int | None, int | None]:
    """``WxH``, ``+X+Y`` or ``WxH+X+Y`` (X11 style) in logical pixels."""
    m = re.fullmatch(r"(?:(\d+)x(\d+))?(?:\+(-?\d+)\+(-?\d+))?", text.strip())
    if not m or not text.strip():
        raise argparse.ArgumentTypeError(f"bad geometry {text!r}: expected WxH, +X+Y or WxH+X+Y")
    w = int(m.group(1)) if m.group(1) is not None else None
    h = int(m.group(2)) if m.group(2) is not None else None
    x = int(m.group(3)) if m.group(3) is not None else None
    y = int(m.group(4)) if m.group(4) is not None else None
    return w, h, x, y


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not (0.0 <= v <= 3600.0):
        raise argparse.ArgumentTypeError(f"bad duration {text!r}: expected seconds in [0, 3600]")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ui.testapp", description="RPA Vision's Qt test application")
    p.add_argument("--dark", action="store_true", help="dark palette (Fusion style unless --style is given)")
    p.add_argument("--style", default=None, help="Qt style name (Fusion, Windows)")
    p.add_argument("--relayout", action="store_true", help="move the Help button to the top row")
    p.add_argument("--geometry", type=parse_geometry, default=None, help="WxH+X+Y in logical pixels")
    p.add_argument("--page", type=int, default=1, choices=(1, 2, 3),
                   help="1 = Form tab, 2 = Settings tab, 3 = Form tab with the Details dialog open")
    p.add_argument("--font-size", type=float, default=None, help="application font size in points")
    p.add_argument("--dump-geometry", default=None, metavar="FILE",
                   help="after layout, write the boxes of every named widget (screen physical pixels)")
    p.add_argument("--log", default=None, metavar="FILE", help="append user events as JSON lines")
    p.add_argument("--slow", type=_seconds, default=0.0, metavar="SECONDS",
                   help="a slow application: 'Details...' opens its dialog and 'Next page' turns the page "
                        "only after SECONDS (0 = at once)")
    p.add_argument("--quit-after", type=float, default=None, metavar="S", help="exit after S seconds")
    return p


def dark_palette() -> Any:
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    R = QPalette.ColorRole
    for role, rgb in (
        (R.Window, (45, 45, 48)), (R.WindowText, (230, 230, 230)), (R.Base, (30, 30, 32)),
        (R.AlternateBase, (55, 55, 60)), (R.ToolTipBase, (60, 60, 60)), (R.ToolTipText, (230, 230, 230)),
        (R.Text, (230, 230, 230)), (R.Button, (60, 60, 64)), (R.ButtonText, (235, 235, 235)),
        (R.BrightText, (255, 80, 80)), (R.Highlight, (60, 130, 220)), (R.HighlightedText, (255, 255, 255)),
        (R.PlaceholderText, (140, 140, 140)), (R.Light, (80, 80, 84)), (R.Mid, (50, 50, 54)),
        (R.Dark, (25, 25, 28)),
    ):
        pal.setColor(role, QColor(*rgb))
    return pal


def _text_of(w: Any) -> str:
    for attr in ("text", "currentText", "placeholderText"):
        fn = getattr(w, attr, None)
        if callable(fn):
            try:
                t = fn()
            except TypeError:
                continue
            if isinstance(t, str) and t:
                return t.replace("&", "")
    return ""


def _phys(x: float, y: float, w: float, h: float, dpr: float) -> list[int]:
    return [round(x * dpr), round(y * dpr), round((x + w) * dpr), round((y + h) * dpr)]


def collect_geometry(window: Any) -> dict[str, Any]:
    """Every visible named widget of ``window`` (and its open dialog) in physical screen pixels."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QWidget

    dpr = float(window.devicePixelRatioF())
    fg = window.frameGeometry()
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "title": window.windowTitle(), "wid": int(window.winId()),
        "dpr": dpr, "style": window.style().name(), "page": window.tabs.currentIndex() + 1,
        "window": _phys(fg.x(), fg.y(), fg.width(), fg.height(), dpr), "dialog": None, "widgets": [],
    }
    tops: list[Any] = [window]
    dlg = window.dialog
    if dlg is not None and dlg.isVisible():
        dg = dlg.frameGeometry()
        out["dialog"] = {"wid": int(dlg.winId()), "window": _phys(dg.x(), dg.y(), dg.width(), dg.height(), dpr)}
        tops.append(dlg)
    items: list[dict[str, Any]] = []

    def add(name: str, cls: str, text: str, top_left: Any, w: float, h: float, kind: str, clickable: bool,
            owner: str) -> None:
        items.append({"name": name, "class": cls, "text": text, "kind": kind, "clickable": clickable,
                      "window": owner, "xyxy": _phys(top_left.x(), top_left.y(), w, h, dpr)})

    from ui.testapp.window import clickable

    for top in tops:
        owner = "dialog" if top is dlg else "main"
        for w in top.findChildren(QWidget):
            name = w.objectName()
            cls = type(w).__name__
            if not name or name.startswith("qt_") or cls not in _KINDS or not w.isVisible():
                continue
            if owner == "main" and w.window() is not window:
                continue
            width = w.width()
            if cls in _TIGHT:  # these stretch with the layout; only the indicator and text react
                width = min(width, w.sizeHint().width())
            add(name, cls, _text_of(w), w.mapToGlobal(QPoint(0, 0)), width, w.height(), _KINDS[cls],
                clickable(w), owner)
        if top is window:
            bar = window.tabs.tabBar()
            for i, key in enumerate(("tab_form", "tab_settings")):
                r = bar.tabRect(i)
                add(key, "QTabBar.tab", bar.tabText(i), bar.mapToGlobal(r.topLeft()), r.width(), r.height(),
                    "tab", True, owner)
            mb = window.menuBar()
            for key, act in window.menu_actions.items():
                r = mb.actionGeometry(act)
                add(key, "QMenuBar.item", act.text().replace("&", ""), mb.mapToGlobal(r.topLeft()), r.width(),
                    r.height(), "menu", True, owner)
            lst = window.findChild(QWidget, "list_items")
            if lst is not None and lst.isVisible():
                vp = lst.viewport()
                for row in range(lst.count()):
                    it = lst.item(row)
                    r = lst.visualItemRect(it)
                    if r.bottom() > vp.height():
                        continue
                    add(f"list_items/{it.text().lower()}", "QListWidgetItem", it.text(), vp.mapToGlobal(r.topLeft()),
                        r.width(), r.height(), "listitem", True, owner)
    out["widgets"] = items
    return out


def _write_json_atomic(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from ui.testapp.window import EventLog, TestAppWindow

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setCursorFlashTime(0)  # a steady caret: two screenshots of the same state are identical
    style = args.style or ("Fusion" if args.dark else None)
    if style:
        app.setStyle(style)
    if args.dark:
        app.setPalette(dark_palette())
    font = QFont("DejaVu Sans")
    font.setPointSizeF(args.font_size or 10.0)
    app.setFont(font)
    log = EventLog(args.log)
    win = TestAppWindow(log, relayout=args.relayout, slow=args.slow)
    if args.geometry is not None:
        w, h, x, y = args.geometry
        if w is not None and h is not None:
            win.resize(w, h)
        if x is not None and y is not None:
            win.move(x, y)
    if args.page == 2:
        win.tabs.setCurrentIndex(1)
    win.show()
    if args.page == 3:
        win.open_dialog()
        if win.dialog is not None:
            g = win.geometry()
            win.dialog.move(g.x() + g.width() // 4, g.y() + g.height() // 4)

    if args.dump_geometry:
        path = args.dump_geometry

        def dump() -> None:
            app.processEvents()
            _write_json_atomic(path, collect_geometry(win))

        QTimer.singleShot(700, dump)
        # The dialog opened or closed by the user: the dump follows once it is laid out and drawn.
        win.on_dialog = lambda: QTimer.singleShot(300, dump)
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), app.quit)
    return int(app.exec())
