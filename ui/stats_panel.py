"""Live figures: capture rate, per-stage latency, cache hit rate, index size, fine-tuner status."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from ui.workers import WatchStats


def _hit_rate(emb: dict[str, Any]) -> str:
    hits, misses = emb.get("hits"), emb.get("misses")
    if not isinstance(hits, int) or not isinstance(misses, int):
        return "not available"
    total = hits + misses
    return f"{hits / total:.0%} of {total}" if total else "no lookups yet"


class StatsPanel(QWidget):
    ROWS = ("capture", "capture_state", "latency", "cache", "index", "encoder", "perception", "finetune")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout(self)
        titles = {"capture": "Capture", "capture_state": "Capture state", "latency": "Latency per stage",
                  "cache": "Embedding cache hits", "index": "Index size", "encoder": "Encoder",
                  "perception": "Perception", "finetune": "Fine-tuner"}
        for key in self.ROWS:
            lab = QLabel("-", self)
            lab.setWordWrap(True)
            self.labels[key] = lab
            form.addRow(titles[key] + ":", lab)

    def text(self, key: str) -> str:
        return self.labels[key].text()

    def show_stats(self, st: WatchStats, finetune: str) -> None:
        cap = st.capture
        if cap is not None:
            self.labels["capture"].setText(
                f"{cap.fps:.1f} fps, grab {cap.grab_ms_p50:.0f} ms (p50); {cap.frames} changed of {cap.grabs} grabs"
                + (f"; {cap.errors} errors ({cap.last_error})" if cap.errors else ""))
        else:
            self.labels["capture"].setText("not running")
        self.labels["capture_state"].setText(st.capture_state)
        if st.timings_ms:
            self.labels["latency"].setText(", ".join(f"{k} {v:.0f} ms" for k, v in st.timings_ms.items()))
        else:
            self.labels["latency"].setText("no frame perceived yet" if st.perception == "ok" else "not available")
        emb = st.perceiver.get("embeddings") if isinstance(st.perceiver, dict) else None
        self.labels["cache"].setText(_hit_rate(emb) if isinstance(emb, dict) else "not available")
        self.labels["index"].setText(f"{st.index_size} recorded screens")
        self.labels["encoder"].setText(st.encoder or "-")
        self.labels["perception"].setText(st.perception)
        self.labels["finetune"].setText(finetune)
