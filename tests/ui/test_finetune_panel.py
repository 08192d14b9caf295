"""The fine-tuner inside the app: status, "Train now", rollback, and the replay answers reaching it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from rpa_vision.core.paths import Paths
from rpa_vision.testbed.synthetic import lookalike_icon, pixel_embed


def _pixel_encoder() -> Any:
    return SimpleNamespace(embed=pixel_embed, provenance=lambda: {"name": "pixel16", "dim": 256}, dim=256)


def _service(qtbot: Any, root: Path) -> Any:
    from rpa_vision.finetune import FineTuneConfig
    from ui.finetune_service import FineTuneService

    svc = FineTuneService(Paths(root), _pixel_encoder, config=FineTuneConfig(auto_after=0))
    svc.start()
    qtbot.waitUntil(lambda: svc.last is not None, timeout=10000)
    return svc


def _feed(tuner: Any, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        v = i % 2
        tuner.add_example("correction", lookalike_icon(v, rng), lookalike_icon(v, rng),
                          [lookalike_icon(1 - v, rng)], {"workflow": "w", "step": v})


def test_train_now_then_roll_back_through_the_buttons(qtbot: Any, tmp_path: Path) -> None:
    from ui.finetune_panel import FineTunePanel

    svc = _service(qtbot, tmp_path)
    panel = FineTunePanel(svc)
    qtbot.addWidget(panel)
    panel.show_status(svc.last)
    assert panel.train_button.isEnabled()
    assert [panel.version_box.itemData(i) for i in range(panel.version_box.count())] == [0]
    _feed(svc.tuner, 20)
    qtbot.waitUntil(lambda: svc.last.status.examples == 20, timeout=5000)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    # the run happens on the tuner's thread; its end arrives as a status with the run recorded
    qtbot.waitUntil(lambda: svc.last.status.last_run is not None and svc.last.status.state == "idle",
                    timeout=180000)
    run = svc.last.status.last_run
    assert run.outcome == "swapped" and svc.tuner.registry.current.version == 1
    assert panel.history.count() == 1 and "swapped" in panel.history.item(0).text()
    assert "adapter v1" in panel.status_label.text()
    assert panel.version_box.currentData() == 1 and "current" in panel.version_box.currentText()
    panel.version_box.setCurrentIndex(0)  # v0: no adaptation
    qtbot.mouseClick(panel.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: svc.last.status.adapter_version == 0, timeout=10000)
    assert svc.tuner.registry.current.version == 0
    assert panel.version_box.currentData() == 0
    svc.stop()


def test_train_now_with_too_few_examples_records_why(qtbot: Any, tmp_path: Path) -> None:
    svc = _service(qtbot, tmp_path)
    messages: list[str] = []
    svc.message.connect(messages.append)
    _feed(svc.tuner, 2)
    assert svc.train_now()
    qtbot.waitUntil(lambda: svc.last.status.last_run is not None and svc.last.status.state == "idle",
                    timeout=30000)
    assert svc.last.status.last_run.outcome == "skipped" and "need at least" in svc.last.status.last_run.reason
    assert any("started" in m for m in messages)
    svc.stop()


def test_an_unavailable_encoder_is_reported_not_raised(qtbot: Any, tmp_path: Path) -> None:
    from rpa_vision.core.errors import EncoderError
    from ui.finetune_panel import FineTunePanel
    from ui.finetune_service import FineTuneService

    def broken() -> Any:
        raise EncoderError("no weights here")

    svc = FineTuneService(Paths(tmp_path), broken)
    panel = FineTunePanel(svc)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(svc.status_changed, timeout=10000):
        svc.start()
    assert svc.tuner is None and "no weights here" in panel.status_label.text()
    assert not panel.train_button.isEnabled() and not svc.train_now()


def test_feedback_before_the_tuner_is_ready_is_kept_on_disk(tmp_path: Path) -> None:
    from rpa_vision.finetune import ExampleStore
    from ui.finetune_service import FineTuneService

    svc = FineTuneService(Paths(tmp_path), _pixel_encoder)  # never started: no tuner
    rng = np.random.default_rng(1)
    svc.feedback().record("confirmation", lookalike_icon(0, rng), lookalike_icon(0, rng))
    assert len(ExampleStore(Paths(tmp_path).finetune)) == 1


def test_train_now_in_a_separate_process_swaps_in_its_adapter(qtbot: Any, tmp_path: Path) -> None:
    """The app's way: ``rpa-vision finetune run`` trains in a child process (torch never loads in the
    app); the adapter it publishes becomes current in the app, its run is in the history."""
    import os

    from rpa_vision.embedding import create_encoder
    from ui.finetune_panel import FineTunePanel
    from ui.finetune_service import FineTuneService

    svc = FineTuneService(Paths(tmp_path), lambda: create_encoder("builtin"), child_encoder="builtin")
    panel = FineTunePanel(svc)
    qtbot.addWidget(panel)
    svc.start()
    qtbot.waitUntil(lambda: svc.last is not None, timeout=20000)
    _feed(svc.tuner, 8)  # below the automatic threshold: nothing starts by itself
    qtbot.wait(300)
    assert svc.last.status.last_run is None and not svc.training
    messages: list[str] = []
    svc.message.connect(messages.append)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert svc.training and "training" in panel.status_label.text()
    qtbot.waitUntil(lambda: not svc.training and svc.last.status.last_run is not None, timeout=300000)
    run = svc.last.status.last_run
    assert run.outcome in ("swapped", "kept"), messages
    assert svc.last_child_pid is not None and svc.last_child_pid != os.getpid()
    assert svc.last.status.adapter_version == (run.adapter_version if run.outcome == "swapped" else 0)
    assert svc.last.status.new_examples == 0
    assert any("finished" in m for m in messages), messages
    svc.stop()


def test_a_failing_training_process_is_reported(qtbot: Any, tmp_path: Path) -> None:
    from ui.finetune_service import FineTuneService

    svc = FineTuneService(Paths(tmp_path), _pixel_encoder, child_encoder="no-such-encoder")
    svc.start()
    qtbot.waitUntil(lambda: svc.last is not None, timeout=20000)
    messages: list[str] = []
    svc.message.connect(messages.append)
    assert svc.train_now()
    qtbot.waitUntil(lambda: not svc.training, timeout=120000)
    assert any(m.startswith("Fine-tuning did not run") and "no-such-encoder" in m for m in messages), messages
    svc.stop()
