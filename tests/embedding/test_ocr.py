from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from rpa_vision.core.errors import UnknownNameError, ValidationError
from rpa_vision.embedding.ocr import FakeOcr, NoOcr, OcrResult, create_ocr, ocr_status, rapidocr_available
from rpa_vision.embedding.synthetic import Look, render_button, render_icon
from rpa_vision.embedding.text import text_similarity

needs_rapidocr = pytest.mark.skipif(not rapidocr_available(), reason="rapidocr-onnxruntime is not installed")


def test_none_engine_reads_nothing() -> None:
    o = create_ocr("none")
    assert isinstance(o, NoOcr)
    r = o.read(render_button("Save"))
    assert r == OcrResult() and r.text == "" and r.confidence == 0.0
    assert o.read([render_button("a"), render_button("b")]) == [OcrResult(), OcrResult()]


def test_unknown_engine_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="rapidocr"):
        create_ocr("tesseract9")


def test_fake_engine_and_cache_off() -> None:
    crop = render_button("Save")
    fake = create_ocr("fake")
    assert isinstance(fake, FakeOcr)
    fake.register(crop, "Save")
    assert fake.read(crop).text == "Save" and fake.read(crop.copy()).text == "Save"
    assert fake.read(render_button("Open")).text == ""
    by_fn = FakeOcr(lambda c: f"{c.shape[1]}x{c.shape[0]}")
    assert by_fn.read(np.zeros((3, 5), np.uint8)).text == "5x3"  # gray accepted


def test_bad_input() -> None:
    with pytest.raises(ValidationError):
        NoOcr().read(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValidationError):
        NoOcr().read([np.zeros((4, 4), np.float32)])


@needs_rapidocr
def test_status_line() -> None:
    assert "rapidocr" in ocr_status()


@pytest.fixture(scope="module")
def rapid() -> object:
    if not rapidocr_available():
        pytest.skip("rapidocr-onnxruntime is not installed")
    return create_ocr("rapidocr", threads=1)


@needs_rapidocr
@pytest.mark.parametrize(("label", "look"), [("Cancel", Look()), ("Save as", Look("light", 2.0)),
                                             ("Open", Look("dark")), ("Help", Look("colour", 1.25))], ids=str)
def test_rapidocr_reads_rendered_buttons(rapid: object, label: str, look: Look) -> None:
    r = rapid.read(render_button(label, look))  # type: ignore[attr-defined]
    assert text_similarity(r.text, label) >= 0.75, r
    assert 0.5 <= r.confidence <= 1.0 and len(r.lines) >= 1


@needs_rapidocr
def test_rapidocr_multiline_with_boxes(rapid: object) -> None:
    import cv2

    img = np.full((160, 360, 3), 245, np.uint8)
    cv2.putText(img, "Hello world", (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(img, "Second line", (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    r = rapid.read(img)  # type: ignore[attr-defined]
    assert len(r.lines) == 2
    assert r.lines[0].box.y2 < r.lines[1].box.y1  # ordered top to bottom
    assert text_similarity(r.lines[0].text, "Hello world") > 0.8


@needs_rapidocr
def test_rapidocr_blank_and_tiny_and_cache(rapid: object) -> None:
    assert rapid.read(render_icon("disc")).text == ""  # type: ignore[attr-defined]
    assert rapid.read(np.zeros((2, 2, 3), np.uint8)).text == ""  # type: ignore[attr-defined]
    crop = render_button("Apply")
    before = rapid.hits  # type: ignore[attr-defined]
    a = rapid.read(crop)  # type: ignore[attr-defined]
    b = rapid.read(crop.copy())  # type: ignore[attr-defined]
    assert a == b and rapid.hits == before + 1  # type: ignore[attr-defined]


@needs_rapidocr
def test_rapidocr_threads(rapid: object) -> None:
    crops = [render_button(t) for t in ("Yes", "Cancel", "Back", "Next")]
    out: dict[int, str] = {}

    def work(i: int) -> None:
        out[i] = rapid.read(crops[i]).text  # type: ignore[attr-defined]

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert [text_similarity(out[i], t) > 0.6 for i, t in enumerate(("Yes", "Cancel", "Back", "Next"))] == [True] * 4


@pytest.mark.skipif(importlib.util.find_spec("rapidocr_onnxruntime") is None, reason="rapidocr not installed")
def test_importing_rapidocr_leaves_qt_plugin_path_alone() -> None:
    code = ("import os; from rpa_vision.embedding.ocr import _import_rapidocr; _import_rapidocr(); "
            "print(os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', ''))")
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM_PLUGIN_PATH"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.strip() == ""


@pytest.mark.parametrize("width", [10, 5000])
def test_rapidocr_rec_width_is_validated(width: int) -> None:
    from rpa_vision.core.errors import ValidationError
    from rpa_vision.embedding.ocr import RapidOcr

    with pytest.raises(ValidationError, match="rec_width"):
        RapidOcr(rec_width=width)


@needs_rapidocr
def test_rapidocr_sessions_do_not_spin_and_the_builder_is_restored() -> None:
    from rapidocr_onnxruntime.utils import infer_engine

    from rpa_vision.embedding.ocr import RapidOcr

    before = infer_engine.OrtInferSession._init_sess_opts
    ocr = RapidOcr(threads=1)
    assert infer_engine.OrtInferSession._init_sess_opts is before
    session = ocr._engine.text_rec.session.session
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
