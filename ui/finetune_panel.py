"""The fine-tuner's tab: its state, examples and adapter, the last runs, "Train now" and rollback."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.finetune_service import FineTuneService, TunerSnapshot


def run_line(r: Any) -> str:
    """One line per ``RunRecord``: when, outcome, examples, validation accuracy."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
    acc = ""
    if r.val_accuracy_after is not None and r.val_accuracy_before is not None:
        acc = f", val acc {r.val_accuracy_before:.2f} -> {r.val_accuracy_after:.2f}"
    ver = f", adapter v{r.adapter_version}" if r.adapter_version is not None else ""
    why = f" ({r.reason})" if r.reason else ""
    return f"{when}  {r.outcome}: {r.examples} examples in {r.duration_s:.1f} s{acc}{ver}{why}"


class FineTunePanel(QWidget):
    def __init__(self, service: FineTuneService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.status_label = QLabel("The fine-tuner is starting...", self)
        self.status_label.setWordWrap(True)
        self.train_button = QPushButton("Train now", self)
        self.train_button.setToolTip("Train an adapter on the confirmations and corrections collected so far; "
                                     "it is swapped in only when it validates better.")
        self.version_box = QComboBox(self)
        self.rollback_button = QPushButton("Use this adapter", self)
        self.rollback_button.setToolTip("Make an earlier adapter current again (v0 = no adaptation).")
        self.history = QListWidget(self)
        row = QHBoxLayout()
        row.addWidget(self.train_button)
        row.addStretch(1)
        row.addWidget(QLabel("Adapter:", self))
        row.addWidget(self.version_box)
        row.addWidget(self.rollback_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.status_label)
        lay.addLayout(row)
        lay.addWidget(QLabel("Last runs:", self))
        lay.addWidget(self.history, 1)
        self.train_button.clicked.connect(self._train)
        self.rollback_button.clicked.connect(self._rollback)
        service.status_changed.connect(self.show_status)
        self.show_status(None)

    @Slot()
    def _train(self) -> None:
        if self.service.train_now():
            self.train_button.setEnabled(False)

    @Slot()
    def _rollback(self) -> None:
        v = self.version_box.currentData()
        if isinstance(v, int):
            self.service.rollback(v)

    @Slot(object)
    def show_status(self, snap: object) -> None:
        """Show a ``TunerSnapshot`` (None: no tuner yet, or none available)."""
        self.status_label.setText(self.service.status_line())
        if not isinstance(snap, TunerSnapshot):
            self.train_button.setEnabled(False)
            self.rollback_button.setEnabled(False)
            return
        training = snap.status.state != "idle"
        self.train_button.setEnabled(not training)
        self.rollback_button.setEnabled(not training)
        current = snap.status.adapter_version
        self.version_box.clear()
        for v in sorted({0, *snap.versions}):
            label = f"v{v}" + (" (none)" if v == 0 else "") + (" - current" if v == current else "")
            self.version_box.addItem(label, v)
            if v == current:
                self.version_box.setCurrentIndex(self.version_box.count() - 1)
        self.history.clear()
        for r in reversed(snap.history):
            self.history.addItem(run_line(r))
