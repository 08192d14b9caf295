"""Replay progress: step i of N, each step's confidence and decision, healed steps marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.meter import Meter

COLUMNS = ("#", "Step", "Confidence", "Decision", "Healed", "Result")


class ReplayPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No replay yet.", self)
        self.progress = Meter(self, maximum=1)
        self.stop_button = QPushButton("Stop replay", self)
        self.stop_button.setEnabled(False)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch if col == 1
                                        else QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.stop_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.table)
        self.status = ""

    def _cell(self, row: int, col: int, text: str, color: QColor | None = None) -> None:
        item = QTableWidgetItem(text)
        if color is not None:
            item.setForeground(color)
        self.table.setItem(row, col, item)

    def cell_text(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    def begin(self, workflow: str, steps: int, dry_run: bool = False) -> None:
        self.status = "running"
        self.title.setText(f"Replaying <b>{workflow}</b>" + (" (dry run)" if dry_run else "") + f": 0 of {steps}")
        self.progress.set_range(max(1, steps))
        self.progress.set_value(0)
        self.table.setRowCount(steps)
        for r in range(steps):
            self._cell(r, 0, str(r + 1))
            for c in range(1, len(COLUMNS)):
                self._cell(r, c, "")
        self.stop_button.setEnabled(True)
        self._workflow, self._steps = workflow, steps

    def on_event(self, ev: Any) -> None:
        """Apply one ``ReplayEvent`` (kind, step_index, step_count, data)."""
        kind, i, data = ev.kind, ev.step_index, ev.data
        if kind == "started" or (i < 0 and kind != "finished"):
            return
        if kind == "finished":
            return
        if i >= self.table.rowCount():
            self.table.setRowCount(i + 1)
        if kind == "step_started":
            self.title.setText(f"Replaying <b>{self._workflow}</b>: step {i + 1} of {ev.step_count}")
            self._cell(i, 1, str(data.get("description", "")))
            self._cell(i, 5, "running")
        elif kind == "located":
            cands = data.get("candidates") or []
            conf = float(cands[0][1]) if cands else 0.0
            self._cell(i, 2, f"{conf:.2f}" if cands else "not found")
        elif kind == "decided":
            self._cell(i, 3, str(data.get("decision", "")))
        elif kind == "healed":
            self._cell(i, 4, "healed", QColor(30, 120, 200))
        elif kind == "step_finished":
            ok = bool(data.get("ok"))
            if not self.cell_text(i, 3):
                self._cell(i, 3, str(data.get("decision", "")))
            msg = "ok" if ok else ("failed: " + str(data.get("message", ""))).rstrip(": ")
            self._cell(i, 5, msg, QColor(40, 150, 70) if ok else QColor(200, 50, 50))
            self.progress.set_value(i + 1)

    def finish(self, status: str, message: str = "") -> None:
        self.status = status
        self.stop_button.setEnabled(False)
        self.title.setText(f"Replay of <b>{getattr(self, '_workflow', '?')}</b>: {status}"
                           + (f" ({message})" if message else ""))
