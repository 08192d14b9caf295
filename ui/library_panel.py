"""The workflow library: thumbnails, record, replay, dry run, rename, delete, import and export.

Reading the library (workflows and their thumbnails) and the file operations run on a thread;
a workflow that fails to load is listed as broken with the reason, the others stay usable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from rpa_vision.core.errors import RpaVisionError
from rpa_vision.core.logging import get_logger
from rpa_vision.workflow.store import WorkflowStore
from ui.qt_images import bgr_to_pixmap, shrink
from ui.tasks import run_in_background

log = get_logger("ui.library")

THUMB_WH = (128, 72)


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    steps: int
    created: float
    error: str = ""  # non-empty: broken, with the reason
    thumb: np.ndarray | None = None

    @property
    def broken(self) -> bool:
        return bool(self.error)


def load_entries(store: WorkflowStore) -> list[LibraryEntry]:
    """Every workflow with its first thumbnail (runs on a thread)."""
    out = []
    for s in store.summaries():
        if s.error:
            out.append(LibraryEntry(s.name, 0, 0.0, s.error))
            continue
        thumb = None
        err = ""
        try:
            wf = store.load(s.name)
            first = next((st.before for st in wf.steps if st.before is not None), None)
            if first is not None:
                thumb, _ = shrink(store.image(wf, first.thumb), *THUMB_WH)
        except RpaVisionError as exc:
            err = str(exc)
        out.append(LibraryEntry(s.name, s.steps, s.created, err, thumb))
    return out


class LibraryPanel(QWidget):
    """Lists the library; asks the window to record or replay (``record_requested`` etc.)."""

    record_requested = Signal(str)
    stop_requested = Signal()
    replay_requested = Signal(str, bool)  # name, dry run
    changed = Signal()  # the library on disk changed (the window re-reads its matcher)
    message = Signal(str)  # a line for the status bar
    loaded = Signal()

    def __init__(self, store: WorkflowStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.entries: list[LibraryEntry] = []
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(*THUMB_WH))
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.itemDoubleClicked.connect(lambda _item: self._replay(False))
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("name of a new workflow")
        self.record_button = QPushButton("Record", self)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setEnabled(False)
        self.replay_button = QPushButton("Replay", self)
        self.dry_run_button = QPushButton("Dry run", self)
        self.rename_button = QPushButton("Rename", self)
        self.delete_button = QPushButton("Delete", self)
        self.import_button = QPushButton("Import...", self)
        self.export_button = QPushButton("Export...", self)
        self.refresh_button = QPushButton("Refresh", self)
        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b03030")
        self.error_label.hide()

        rec = QHBoxLayout()
        rec.addWidget(self.name_edit, 1)
        rec.addWidget(self.record_button)
        rec.addWidget(self.stop_button)
        grid = QGridLayout()
        for i, b in enumerate((self.replay_button, self.dry_run_button, self.rename_button, self.delete_button,
                               self.import_button, self.export_button, self.refresh_button)):
            grid.addWidget(b, i // 4, i % 4)
        lay = QVBoxLayout(self)
        lay.addLayout(rec)
        lay.addWidget(self.error_label)
        lay.addWidget(self.list, 1)
        lay.addLayout(grid)

        self.record_button.clicked.connect(self._record)
        self.name_edit.returnPressed.connect(self._record)
        self.stop_button.clicked.connect(self.stop_requested)
        self.replay_button.clicked.connect(lambda: self._replay(False))
        self.dry_run_button.clicked.connect(lambda: self._replay(True))
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        self.import_button.clicked.connect(self._import)
        self.export_button.clicked.connect(self._export)
        self.refresh_button.clicked.connect(self.refresh)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._busy = False
        self._update_buttons()

    # dialogs (replaced in tests) --------------------------------------------------------------
    def ask_text(self, title: str, label: str, default: str = "") -> str | None:
        text, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, default)
        return text if ok else None

    def ask_yes_no(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def ask_open_file(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a workflow", "", "Workflow archives (*.zip)")
        return path or None

    def ask_save_file(self, default: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export a workflow", default, "Workflow archives (*.zip)")
        return path or None

    # state --------------------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        if text:
            self.message.emit(text)

    def selected_entry(self) -> LibraryEntry | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return next((e for e in self.entries if e.name == name), None)

    def select(self, name: str) -> bool:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentItem(item)
                return True
        return False

    def set_recording(self, on: bool) -> None:
        self._recording = on
        self._update_buttons()

    def set_busy(self, busy: bool) -> None:
        """While a replay or a recording runs, the library is read-only."""
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        e = self.selected_entry()
        recording = getattr(self, "_recording", False)
        usable = e is not None and not e.broken and not self._busy
        self.record_button.setEnabled(not self._busy)
        self.stop_button.setEnabled(recording)
        for b in (self.replay_button, self.dry_run_button, self.export_button):
            b.setEnabled(usable)
        for b in (self.rename_button, self.delete_button):
            b.setEnabled(e is not None and not self._busy)
        self.import_button.setEnabled(not self._busy)

    # loading ------------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        store = self.store
        run_in_background(self, lambda: load_entries(store), self._loaded, self._load_failed, "library")

    @Slot(str)
    def _load_failed(self, msg: str) -> None:
        self.show_error(f"Cannot read the library: {msg}")
        self.loaded.emit()

    @Slot(object)
    def _loaded(self, entries: list[LibraryEntry]) -> None:
        current = self.selected_entry()
        self.entries = list(entries)
        self.list.clear()
        warn = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for e in self.entries:
            if e.broken:
                item = QListWidgetItem(warn, f"{e.name}\nbroken: {e.error}")
                item.setForeground(QColor(180, 40, 40))
                item.setToolTip(e.error)
            else:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created)) if e.created else ""
                item = QListWidgetItem(f"{e.name}\n{e.steps} steps  {when}")
                if e.thumb is not None:
                    item.setIcon(QIcon(bgr_to_pixmap(e.thumb)))
            item.setData(Qt.ItemDataRole.UserRole, e.name)
            self.list.addItem(item)
        if current is not None:
            self.select(current.name)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()
        self.loaded.emit()

    # actions ------------------------------------------------------------------------------------
    def _record(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            self.show_error("Type a name for the new workflow first.")
            return
        try:
            from rpa_vision.workflow.model import validate_name

            validate_name(name)
        except RpaVisionError as exc:
            self.show_error(str(exc))
            return
        if self.store.exists(name):
            self.show_error(f"A workflow named {name!r} exists already; choose another name.")
            return
        self.show_error("")
        self.record_requested.emit(name)

    def _replay(self, dry_run: bool) -> None:
        e = self.selected_entry()
        if e is None:
            return
        if e.broken:
            self.show_error(f"{e.name} cannot be replayed: {e.error}")
            return
        self.replay_requested.emit(e.name, dry_run)

    def _after_change(self, msg: Any) -> None:
        self.show_error("")
        self.message.emit(str(msg))
        self.changed.emit()
        self.refresh()

    @Slot(object)
    def _op_done(self, msg: object) -> None:
        self._after_change(msg)

    @Slot(str)
    def _op_failed(self, msg: str) -> None:
        self.show_error(msg)
        self.refresh()

    def _rename(self) -> None:
        e = self.selected_entry()
        if e is None:
            return
        new = self.ask_text("Rename workflow", f"New name for {e.name}:", e.name)
        if not new or new.strip() == e.name:
            return
        store, old, new_name = self.store, e.name, new.strip()

        def work() -> str:
            store.rename(old, new_name)
            return f"Renamed {old} to {new_name}."

        run_in_background(self, work, self._op_done, self._op_failed, "rename")

    def _delete(self) -> None:
        e = self.selected_entry()
        if e is None or not self.ask_yes_no("Delete workflow", f"Move {e.name} to the trash?"):
            return
        store, name = self.store, e.name

        def work() -> str:
            store.delete(name)
            return f"Moved {name} to the trash (rpa-vision restore {name} brings it back)."

        run_in_background(self, work, self._op_done, self._op_failed, "delete")

    def _import(self) -> None:
        path = self.ask_open_file()
        if not path:
            return
        store = self.store

        def work() -> str:
            folder = store.import_(Path(path))
            return f"Imported {Path(folder).name}."

        run_in_background(self, work, self._op_done, self._op_failed, "import")

    def _export(self) -> None:
        e = self.selected_entry()
        if e is None:
            return
        dest = self.ask_save_file(f"{e.name}.zip")
        if not dest:
            return
        store, name = self.store, e.name

        def work() -> str:
            out = store.export(name, Path(dest))
            return f"Exported {name} to {out}."

        run_in_background(self, work, self._op_done, self._op_failed, "export")
