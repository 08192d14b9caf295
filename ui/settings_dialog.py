"""The settings dialog: thresholds, capture rate, encoder, hotkeys, OCR, theme and the home folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.settings import THEMES, Settings

ENCODERS = ("auto", "builtin", "clip")


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings`` and ``result_home`` hold what was accepted."""

    def __init__(self, settings: Settings, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("RPA Vision settings")
        self.result_settings: Settings | None = None
        self.result_home: Path | None = None
        self._home = home

        def spin(lo: float, hi: float, step: float, value: float, decimals: int = 2) -> QDoubleSpinBox:
            s = QDoubleSpinBox(self)
            s.setRange(lo, hi)
            s.setSingleStep(step)
            s.setDecimals(decimals)
            s.setValue(value)
            return s

        self.auto_confidence = spin(0.01, 1.0, 0.05, settings.auto_confidence)
        self.min_confidence = spin(0.01, 1.0, 0.05, settings.min_confidence)
        self.suggest_confidence = spin(0.01, 1.0, 0.05, settings.suggest_confidence)
        self.capture_rate = spin(0.1, 60.0, 0.5, settings.capture_rate_hz, 1)
        self.encoder = QComboBox(self)
        self.encoder.addItems(list(ENCODERS) if settings.encoder in ENCODERS else [*ENCODERS, settings.encoder])
        self.encoder.setCurrentText(settings.encoder)
        self.stop_hotkey = QLineEdit(settings.stop_hotkey, self)
        self.abort_hotkey = QLineEdit(settings.abort_hotkey, self)
        self.secret_hotkey = QLineEdit(settings.secret_hotkey, self)
        self.ocr = QCheckBox("read text on screen (OCR)", self)
        self.ocr.setChecked(settings.ocr)
        self.watch = QCheckBox("offer to finish workflows I start by hand", self)
        self.watch.setChecked(settings.watch)
        self.theme = QComboBox(self)
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(settings.theme)
        self.home_edit = QLineEdit(str(home), self)
        browse = QPushButton("Browse...", self)
        browse.clicked.connect(self._browse)
        home_row = QHBoxLayout()
        home_row.addWidget(self.home_edit, 1)
        home_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("Act without asking at confidence >=", self.auto_confidence)
        form.addRow("Treat as not found below", self.min_confidence)
        form.addRow("Offer a workflow at confidence >=", self.suggest_confidence)
        form.addRow("Capture rate while watching (fps)", self.capture_rate)
        form.addRow("Encoder", self.encoder)
        form.addRow("Stop recording hotkey", self.stop_hotkey)
        form.addRow("Abort replay hotkey", self.abort_hotkey)
        form.addRow("Secret typing hotkey", self.secret_hotkey)
        form.addRow("", self.ocr)
        form.addRow("", self.watch)
        form.addRow("Theme", self.theme)
        form.addRow("Home folder", home_row)
        self.error_label = QLabel("", self)
        self.error_label.setStyleSheet("color: #b03030")
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("A new encoder or home folder takes effect when the app restarts watching.", self))
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Home folder", self.home_edit.text())
        if path:
            self.home_edit.setText(path)

    def collect(self) -> Settings:
        """The settings as edited; ``ValidationError`` when they are not valid."""
        return Settings(
            auto_confidence=round(self.auto_confidence.value(), 4),
            min_confidence=round(self.min_confidence.value(), 4),
            capture_rate_hz=round(self.capture_rate.value(), 3),
            encoder=self.encoder.currentText().strip(),
            stop_hotkey=self.stop_hotkey.text().strip().lower(),
            abort_hotkey=self.abort_hotkey.text().strip().lower(),
            secret_hotkey=self.secret_hotkey.text().strip().lower(),
            ocr=self.ocr.isChecked(),
            theme=self.theme.currentText(),
            watch=self.watch.isChecked(),
            suggest_confidence=round(self.suggest_confidence.value(), 4),
        )

    def try_accept(self) -> None:
        try:
            s = self.collect()
        except ValidationError as exc:
            self.error_label.setText(str(exc))
            return
        home_text = self.home_edit.text().strip()
        if not home_text:
            self.error_label.setText("the home folder must not be empty")
            return
        self.result_settings = s
        self.result_home = Path(home_text).expanduser()
        self.accept()
