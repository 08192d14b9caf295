"""The test application's main window and its 'Details' dialog.

Every widget that a test or the suite builder refers to has an ``objectName``; names are stable
across styles, themes, scale factors and the relayout option. User events go to ``EventLog``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ui.testapp.icons import ICON_NAMES, make_icon

TITLE = "RPA Test App"


class EventLog:
    """Shows the last event in the status bar and appends it as a JSON line to a file."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.status: QLabel | None = None

    def emit(self, event: str, widget: str, **data: Any) -> None:
        rec = {"event": event, "widget": widget, "t": round(time.time(), 3), **data}
        if self.status is not None:
            extra = f" = {data['value']}" if "value" in data else ""
            self.status.setText(f"{event}: {widget}{extra}")
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()


def _button(name: str, text: str, log: EventLog) -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.clicked.connect(lambda _=False, n=name: log.emit("clicked", n))
    return b


def _check(name: str, text: str, log: EventLog, checked: bool = False) -> QCheckBox:
    c = QCheckBox(text)
    c.setObjectName(name)
    c.setChecked(checked)
    c.toggled.connect(lambda v, n=name: log.emit("toggled", n, value=bool(v)))
    return c


def _label(name: str, text: str) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName(name)
    return lab


def _edit(name: str, placeholder: str, log: EventLog) -> QLineEdit:
    e = QLineEdit()
    e.setObjectName(name)
    e.setPlaceholderText(placeholder)
    e.textEdited.connect(lambda t, n=name: log.emit("typed", n, value=t))
    return e


class DetailsDialog(QDialog):
    """A modal-less dialog: a third state of the application."""

    def __init__(self, parent: QWidget, log: EventLog) -> None:
        super().__init__(parent)
        self.setObjectName("dlg_details")
        self.setWindowTitle("Details")
        lay = QVBoxLayout(self)
        lay.addWidget(_label("dlg_lbl_info", "Order details"))
        form = QFormLayout()
        form.addRow(_label("dlg_lbl_ref", "Reference:"), _edit("dlg_edit_ref", "ABC-123", log))
        form.addRow(_label("dlg_lbl_qty", "Quantity:"), _spin("dlg_spin_qty", log, 1))
        lay.addLayout(form)
        lay.addWidget(_check("dlg_chk_urgent", "Urgent", log))
        row = QHBoxLayout()
        ok = _button("dlg_btn_ok", "OK", log)
        close = _button("dlg_btn_close", "Close", log)
        ok.clicked.connect(self.accept)
        close.clicked.connect(self.reject)
        row.addStretch(1)
        row.addWidget(ok)
        row.addWidget(close)
        lay.addLayout(row)


def _spin(name: str, log: EventLog, value: int) -> QSpinBox:
    s = QSpinBox()
    s.setObjectName(name)
    s.setRange(0, 120)
    s.setValue(value)
    s.valueChanged.connect(lambda v, n=name: log.emit("changed", n, value=int(v)))
    return s


class TestAppWindow(QMainWindow):
    """The main window: menu bar, toolbar, a 'Form' and a 'Settings' tab, a status bar.

    ``slow`` (seconds, 0 = instant) makes it slow the way real applications are: "Details..."
    shows "Loading..." in the status bar and opens the dialog only after ``slow`` seconds, and
    "Next page" turns the page only then (both log an ``opened`` event when they do).
    ``on_dialog`` is called whenever the dialog is shown or closed.
    """

    def __init__(self, log: EventLog, *, relayout: bool = False, slow: float = 0.0) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle(TITLE)
        self.log = log
        self.slow = float(slow)
        self.dialog: DetailsDialog | None = None
        self.on_dialog: Callable[[], None] | None = None
        self._loading: set[str] = set()  # slow actions under way
        self._menus: dict[str, QAction] = {}
        self._build_menu()
        self._build_toolbar()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(self._form_page(relayout), "Form")
        self.tabs.addTab(self._settings_page(), "Settings")
        self.tabs.currentChanged.connect(lambda i: log.emit("tab", "tabs", value=int(i)))
        self.setCentralWidget(self.tabs)
        status = _label("status_label", "Ready")
        self.statusBar().setObjectName("status_bar")
        self.statusBar().addWidget(status, 1)
        log.status = status

    # -- chrome -------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        bar = self.menuBar()
        bar.setObjectName("menu_bar")
        for title, items in (("&File", ("New", "Open", "Save", "Quit")), ("&Edit", ("Cut", "Copy", "Paste")),
                             ("&View", ("Zoom in", "Zoom out")), ("&Help", ("About",))):
            menu = bar.addMenu(title)
            key = "menu_" + title.strip("&").lower()
            menu.setObjectName(key)
            self._menus[key] = menu.menuAction()
            for it in items:
                act = menu.addAction(it)
                name = f"{key}_{it.lower().replace(' ', '_')}"
                act.setObjectName(name)
                if it == "Quit":
                    act.triggered.connect(self.close)
                else:
                    act.triggered.connect(lambda _=False, n=name: self.log.emit("menu", n))

    @property
    def menu_actions(self) -> dict[str, QAction]:
        return dict(self._menus)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Tools")
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(24, 24))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        ink = (text.red(), text.green(), text.blue())
        for name in ICON_NAMES:
            act = QAction(make_icon(name, ink=ink), name.capitalize(), self)
            act.setObjectName(f"act_{name}")
            act.triggered.connect(lambda _=False, n=f"tool_{name}": self.log.emit("clicked", n))
            tb.addAction(act)
            w = tb.widgetForAction(act)
            if w is not None:
                w.setObjectName(f"tool_{name}")

    # -- pages --------------------------------------------------------------------------------
    def _form_page(self, relayout: bool) -> QWidget:
        log = self.log
        page = QWidget()
        page.setObjectName("page_form")
        grid = QGridLayout(page)

        person = QGroupBox("Person")
        person.setObjectName("grp_person")
        form = QFormLayout(person)
        form.addRow(_label("lbl_name", "Name:"), _edit("edit_name", "Full name", log))
        form.addRow(_label("lbl_email", "Email:"), _edit("edit_email", "name@example.com", log))
        combo = QComboBox()
        combo.setObjectName("combo_country")
        combo.addItems(["France", "Germany", "Italy", "Spain", "United Kingdom"])
        combo.currentTextChanged.connect(lambda t: log.emit("changed", "combo_country", value=t))
        form.addRow(_label("lbl_country", "Country:"), combo)
        form.addRow(_label("lbl_age", "Age:"), _spin("spin_age", log, 30))
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName("slider_volume")
        slider.setRange(0, 100)
        slider.setValue(40)
        slider.valueChanged.connect(lambda v: log.emit("changed", "slider_volume", value=int(v)))
        form.addRow(_label("lbl_volume", "Volume:"), slider)
        grid.addWidget(person, 0, 0)

        size = QGroupBox("Size")
        size.setObjectName("grp_size")
        vs = QVBoxLayout(size)
        group = QButtonGroup(size)
        for i, (n, t) in enumerate((("radio_small", "Small"), ("radio_medium", "Medium"), ("radio_large", "Large"))):
            r = QRadioButton(t)
            r.setObjectName(n)
            r.setChecked(i == 1)
            r.toggled.connect(lambda v, nn=n: log.emit("selected", nn) if v else None)
            group.addButton(r)
            vs.addWidget(r)
        vs.addWidget(_check("chk_newsletter", "Newsletter", log))
        vs.addWidget(_check("chk_terms", "I accept the terms", log))
        grid.addWidget(size, 0, 1)

        # Two identical "Confirm" check boxes told apart only by the labels next to them.
        ship = QGroupBox()
        ship.setObjectName("grp_confirm")
        sg = QGridLayout(ship)
        sg.addWidget(_label("lbl_shipping", "Shipping address"), 0, 0)
        sg.addWidget(_check("chk_confirm_shipping", "Confirm", log), 0, 1)
        sg.addWidget(_label("lbl_billing", "Billing address"), 1, 0)
        sg.addWidget(_check("chk_confirm_billing", "Confirm", log), 1, 1)
        grid.addWidget(ship, 1, 0)

        lst = QListWidget()
        lst.setObjectName("list_items")
        lst.addItems(["Apples", "Bananas", "Cherries", "Dates", "Elderberries"])
        lst.setMaximumHeight(120)
        lst.currentTextChanged.connect(lambda t: log.emit("selected", "list_items", value=t))
        grid.addWidget(lst, 1, 1)

        row1 = QHBoxLayout()
        row2 = QHBoxLayout()
        save = _button("btn_save", "Save", log)
        cancel = _button("btn_cancel", "Cancel", log)
        apply_ = _button("btn_apply", "Apply", log)
        helpb = _button("btn_help", "Help", log)
        details = _button("btn_details", "Details...", log)
        nxt = _button("btn_next", "Next page", log)
        if self.slow > 0:
            details.clicked.connect(lambda: self._later("dlg_details", self.open_dialog))
            nxt.clicked.connect(lambda: self._later("page_settings", lambda: self.tabs.setCurrentIndex(1)))
        else:
            details.clicked.connect(self.open_dialog)
            nxt.clicked.connect(lambda: self.tabs.setCurrentIndex(1))
        row1.addWidget(details)
        row1.addStretch(1)
        row1.addWidget(nxt)
        if relayout:  # 'Help' moves from the bottom row to the top row, left of 'Details...'
            row1.insertWidget(0, helpb)
        else:
            row2.addWidget(helpb)
        row2.addStretch(1)
        for b in (apply_, cancel, save):
            row2.addWidget(b)
        grid.addLayout(row1, 2, 0, 1, 2)
        grid.addLayout(row2, 3, 0, 1, 2)
        return page

    def _settings_page(self) -> QWidget:
        log = self.log
        page = QWidget()
        page.setObjectName("page_settings")
        lay = QVBoxLayout(page)
        lay.addWidget(_label("lbl_settings", "Application settings"))
        box = QGroupBox("Options")
        box.setObjectName("grp_options")
        og = QGridLayout(box)
        og.addWidget(_check("chk_autosave", "Autosave every 5 minutes", log, True), 0, 0)
        og.addWidget(_check("chk_backup", "Keep backups", log), 1, 0)
        og.addWidget(_check("chk_updates", "Check for updates", log, True), 2, 0)
        theme = QComboBox()
        theme.setObjectName("combo_theme")
        theme.addItems(["System", "Light", "Dark"])
        theme.currentTextChanged.connect(lambda t: log.emit("changed", "combo_theme", value=t))
        og.addWidget(_label("lbl_theme", "Theme:"), 0, 1)
        og.addWidget(theme, 0, 2)
        og.addWidget(_label("lbl_threads", "Threads:"), 1, 1)
        og.addWidget(_spin("spin_threads", log, 4), 1, 2)
        lay.addWidget(box)
        notes = QPlainTextEdit()
        notes.setObjectName("edit_notes")
        notes.setPlaceholderText("Notes")
        notes.setMaximumHeight(90)
        lay.addWidget(notes)
        row = QHBoxLayout()
        back = _button("btn_back", "Back", log)
        back.clicked.connect(lambda: self.tabs.setCurrentIndex(0))
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(_button("btn_reset", "Reset", log))
        row.addWidget(_button("btn_ok_settings", "OK", log))
        lay.addLayout(row)
        lay.addStretch(1)
        return page

    def _later(self, what: str, fn: Callable[[], None]) -> None:
        """Do ``fn`` after ``self.slow`` seconds ("Loading..." meanwhile); a second click while
        loading does nothing more."""
        if self.log.status is not None:
            self.log.status.setText("Loading...")
        if what in self._loading:
            return
        self._loading.add(what)

        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5% early

        def done() -> None:
            timer.deleteLater()
            self._loading.discard(what)
            fn()
            self.log.emit("opened", what)

        timer.timeout.connect(done)
        timer.start(round(self.slow * 1000))

    def open_dialog(self) -> None:
        if self.dialog is None:
            self.dialog = DetailsDialog(self, self.log)
            self.dialog.finished.connect(lambda _=0: self._dialog_changed())
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        self._dialog_changed()

    def _dialog_changed(self) -> None:
        if self.on_dialog is not None:
            self.on_dialog()


def clickable(w: QWidget) -> bool:
    """Whether clicking the widget does something (a list reacts on its items, not its frame)."""
    return isinstance(w, QAbstractButton | QLineEdit | QComboBox | QSpinBox | QSlider | QPlainTextEdit)
