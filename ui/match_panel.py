"""The current state match: which recorded step the screen looks like, how sure, and the runners-up."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QListWidget, QVBoxLayout, QWidget

from ui.matching import MatchResult
from ui.meter import Meter


class MatchPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Current state", parent)
        self.best_label = QLabel("No match yet.", self)
        self.best_label.setWordWrap(True)
        self.confidence_bar = Meter(self, fmt="confidence {value}%")
        self.margin_label = QLabel("-", self)
        self.alternatives = QListWidget(self)
        self.alternatives.setMaximumHeight(80)
        form = QFormLayout()
        form.addRow("Margin:", self.margin_label)
        lay = QVBoxLayout(self)
        lay.addWidget(self.best_label)
        lay.addWidget(self.confidence_bar)
        lay.addLayout(form)
        lay.addWidget(QLabel("Alternatives:", self))
        lay.addWidget(self.alternatives)
        self.result: MatchResult | None = None

    def show_unavailable(self, why: str) -> None:
        self.best_label.setText(f"State matching is not available: {why}")
        self.confidence_bar.set_value(0)
        self.margin_label.setText("-")
        self.alternatives.clear()

    def show_result(self, result: MatchResult) -> None:
        self.result = result
        best = result.best
        self.alternatives.clear()
        if best is None:
            self.best_label.setText("The library has no recorded screens to compare with."
                                    if result.prototypes == 0 else "No recorded step looks like this screen.")
            self.confidence_bar.set_value(0)
            self.margin_label.setText("-")
            return
        self.best_label.setText(f"<b>{best.workflow}</b>: step {best.step_index + 1} of {best.step_count}"
                                + (f" ({best.description})" if best.description else ""))
        self.confidence_bar.set_value(int(round(best.confidence * 100)))
        self.margin_label.setText(f"{result.margin:.2f}")
        for m in result.matches[1:4]:
            self.alternatives.addItem(f"{m.workflow}: step {m.step_index + 1} of {m.step_count}  "
                                      f"({m.confidence:.2f})")
