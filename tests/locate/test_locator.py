"""The Locator on drawn screens whose element boxes are known."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.core.frame import Frame
from rpa_vision.core.geometry import Box
from rpa_vision.locate import LocatorConfig, TargetSpec
from rpa_vision.locate.scenes import SceneSpec, render_scene
from tests.locate.helpers import fast_locator, hit, scene, target_of

THRESHOLD = LocatorConfig().act_threshold


@pytest.mark.parametrize(
    ("perturbation", "element"),
    [
        ("moved", "btn_ok"),
        ("moved", "cb_proxy"),
        ("scale1.25", "btn_apply"),
        ("scale1.5", "key_5"),
        ("scale2", "btn_help"),
        ("dark", "btn_cancel"),
        ("dark", "cb_autosave"),
        ("font", "btn_ok"),
        ("dark_scale1.5", "field_email"),
    ],
)
def test_finds_the_element_after_a_perturbation(perturbation: str, element: str) -> None:
    screen, truth = scene(perturbation)
    res = fast_locator().locate(target_of(element), screen)
    assert res, "no candidate"
    top = res[0]
    assert hit(top.box, truth[element]), (top.box, truth[element])
    assert top.confidence >= res[-1].confidence
    assert all(0.0 <= c.confidence <= 1.0 for c in res)
    if perturbation.startswith("scale"):
        expected = float(perturbation.removeprefix("scale"))
        assert abs(top.scale - expected) / expected < 0.15


def test_moved_target_is_found_confidently() -> None:
    screen, truth = scene("moved")
    top = fast_locator().locate(target_of("btn_ok"), screen)[0]
    assert hit(top.box, truth["btn_ok"]) and top.confidence >= THRESHOLD


def test_inverted_theme() -> None:
    ref, boxes = scene()
    inverted = np.ascontiguousarray(255 - ref)
    top = fast_locator().locate(TargetSpec.from_reference(ref, boxes["btn_apply"]), inverted)[0]
    assert top.box.iou(boxes["btn_apply"]) > 0.8


def test_identical_checkboxes_are_told_apart_by_their_surroundings() -> None:
    """cb_logging, cb_autosave and cb_proxy are pixel-identical; only their labels differ."""
    ref, boxes = scene()
    crop_a = ref[boxes["cb_autosave"].as_int_tuple()[1]:boxes["cb_autosave"].as_int_tuple()[3],
                 boxes["cb_autosave"].as_int_tuple()[0]:boxes["cb_autosave"].as_int_tuple()[2]]
    x1, y1, x2, y2 = boxes["cb_logging"].as_int_tuple()
    assert np.array_equal(crop_a, ref[y1:y2, x1:x2])
    screen, truth = scene("moved")
    loc = fast_locator()
    for el in ("cb_autosave", "cb_logging", "cb_proxy"):
        res = loc.locate(target_of(el), screen)
        assert hit(res[0].box, truth[el]), el
        assert res[0].confidence > res[1].confidence


def test_without_surroundings_lookalikes_stay_unsure() -> None:
    """A crop alone cannot say which of three identical checkboxes was meant: never confident."""
    ref, boxes = scene()
    x1, y1, x2, y2 = boxes["cb_autosave"].as_int_tuple()
    spec = TargetSpec(ref[y1:y2, x1:x2].copy(), Box(0, 0, x2 - x1, y2 - y1))
    screen, _ = scene("moved")
    res = fast_locator().locate(spec, screen)
    assert res and res[0].confidence < THRESHOLD


@pytest.mark.parametrize("element", ["btn_ok", "cb_autosave", "key_8", "field_email"])
def test_absent_target_gets_low_confidence(element: str) -> None:
    screen, truth = scene("moved", missing=(element,))
    assert element not in truth
    res = fast_locator().locate(target_of(element), screen)
    assert not res or res[0].confidence < THRESHOLD


def test_blank_screen_has_no_candidate() -> None:
    res = fast_locator().locate(target_of("btn_ok"), np.full((600, 800, 3), 128, np.uint8))
    assert res == []


def test_frame_scale_prior_on_a_4k_screen() -> None:
    big, truth = render_scene(SceneSpec(size_wh=(3840, 2160), origin=(800, 400), scale=2.0))
    frame = Frame.from_array(big, "BGR", scale=2.0)
    top = fast_locator().locate(target_of("btn_apply"), frame)[0]
    assert hit(top.box, truth["btn_apply"])
    assert abs(top.scale - 2.0) < 0.2


def test_last_box_breaks_a_tie_between_lookalikes() -> None:
    ref, boxes = scene()
    x1, y1, x2, y2 = boxes["cb_proxy"].as_int_tuple()
    crop = ref[y1:y2, x1:x2].copy()
    spec = TargetSpec(crop, boxes["cb_proxy"], last_box=boxes["cb_proxy"])
    top = fast_locator().locate(spec, ref)[0]
    assert top.box.iou(boxes["cb_proxy"]) > 0.8


def test_adapter_swap_and_stats() -> None:
    loc = fast_locator()
    screen, truth = scene("dark")
    calls: list[int] = []

    def adapter(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return x * 2.0

    loc.set_adapter(adapter)
    top = loc.locate(target_of("btn_ok"), screen)[0]
    assert calls and hit(top.box, truth["btn_ok"])
    loc.set_adapter(None)
    n = len(calls)
    loc.locate(target_of("btn_ok"), screen)
    assert len(calls) == n
    st = loc.stats()
    assert st["calls"] == 2 and st["found"] == 2 and st["mean_ms"] > 0
    with pytest.raises(ValidationError):
        loc.set_adapter(42)  # type: ignore[arg-type]


def test_a_scoped_adapter_decides_the_embedding_evidence() -> None:
    class Scoped:
        """Applies nowhere (base similarities) and records how it was asked."""

        def __init__(self) -> None:
            self.asked: list[int] = []

        def __call__(self, x: np.ndarray) -> np.ndarray:
            raise AssertionError("a scoped adapter is asked for similarities, not vectors")

        def similarities(self, target: np.ndarray, cands: np.ndarray) -> np.ndarray:
            self.asked.append(len(cands))
            return np.asarray(cands @ target)

    loc = fast_locator()
    screen, truth = scene("dark")
    plain = loc.locate(target_of("btn_ok"), screen)[0]
    scoped = Scoped()
    loc.set_adapter(scoped)
    top = loc.locate(target_of("btn_ok"), screen)[0]
    assert scoped.asked and hit(top.box, truth["btn_ok"])
    assert top.evidence.get("embedding") == pytest.approx(plain.evidence.get("embedding"), abs=1e-5)


def test_text_evidence_from_an_ocr_backend() -> None:
    class FakeOcr:
        """Reads "OK" on bright-faced crops wider than tall, else nothing."""

        def __init__(self) -> None:
            self.crops = 0

        def read(self, images: list[np.ndarray]) -> list[str]:
            self.crops += len(images)
            return ["OK" if im.shape[1] > 2 * im.shape[0] else "" for im in images]

    ocr = FakeOcr()
    from rpa_vision.locate import Locator

    loc = Locator(ocr=ocr, config=LocatorConfig(ocr_top=3))
    screen, truth = scene("moved")
    top = loc.locate(TargetSpec.from_reference(*_ref_box("btn_ok"), text="OK"), screen)[0]
    assert hit(top.box, truth["btn_ok"])
    assert top.evidence["text"] == 1.0
    assert 1 <= ocr.crops <= 3


def test_text_is_read_ahead_without_reading_twice() -> None:
    """With an OCR that caches its reads, the best candidate's text is read on a helper thread
    while the context and embedding are computed: same answer, no extra reads of the engine."""
    from rpa_vision.embedding.ocr import FakeOcr
    from rpa_vision.locate import Locator

    def reads(im: np.ndarray) -> str:
        return "OK" if im.shape[1] > 2 * im.shape[0] else ""

    screen, truth = scene("moved")
    target = TargetSpec.from_reference(*_ref_box("btn_ok"), text="OK")
    plain_ocr, caching_ocr = FakeOcr(reads), FakeOcr(reads, cache_entries=64)
    plain = Locator(ocr=plain_ocr).locate(target, screen)[0]
    target = TargetSpec.from_reference(*_ref_box("btn_ok"), text="OK")
    ahead = Locator(ocr=caching_ocr).locate(target, screen)[0]
    assert hit(ahead.box, truth["btn_ok"]) and ahead.box == plain.box
    assert ahead.evidence["text"] == plain.evidence["text"] == 1.0
    assert ahead.confidence == pytest.approx(plain.confidence, abs=1e-6)
    assert caching_ocr.hits >= 1  # the read made ahead answered ``_text``
    assert caching_ocr.calls <= plain_ocr.calls + 1


def test_read_text_is_what_a_recording_stores() -> None:
    class Reader:
        def read(self, images: list[np.ndarray]) -> list[str]:
            return ["  Save\n as  " for _ in images]

    from rpa_vision.locate import Locator

    crop = np.zeros((20, 60, 3), np.uint8)
    assert Locator(ocr=Reader()).read_text(crop) == "Save as"
    assert Locator(ocr=Reader(), config=LocatorConfig(use_ocr=False)).read_text(crop) == ""


def _ref_box(element: str) -> tuple[np.ndarray, Box]:
    ref, boxes = scene()
    return ref, boxes[element]


def test_locate_is_thread_safe() -> None:
    loc = fast_locator()
    screen, _ = scene("moved")
    elements = ["btn_ok", "btn_apply", "cb_proxy", "key_5"]
    expected = {el: loc.locate(target_of(el), screen)[0].box for el in elements}
    errors: list[str] = []

    def work(el: str) -> None:
        for _ in range(2):
            got = loc.locate(target_of(el), screen)[0].box
            if got != expected[el]:
                errors.append(f"{el}: {got} != {expected[el]}")

    threads = [threading.Thread(target=work, args=(el,)) for el in elements]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_bad_arguments() -> None:
    loc = fast_locator()
    screen, _ = scene()
    with pytest.raises(ValidationError):
        loc.locate(target_of("btn_ok"), screen, top_k=0)
    with pytest.raises(ValidationError):
        loc.locate("btn_ok", screen)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        loc.locate(target_of("btn_ok"), np.zeros((0, 5, 3), np.uint8))


def test_roi_optimizer_regions_as_proposals() -> None:
    from rpa_vision.locate import Locator
    from rpa_vision.roi import ROIOptimizer

    screen, truth = scene("restyle")
    loc = Locator(roi=ROIOptimizer(), config=LocatorConfig(use_ocr=False))
    top = loc.locate(target_of("field_email"), Frame.from_array(screen))[0]
    assert hit(top.box, truth["field_email"])


def test_short_labels_must_be_read_exactly() -> None:
    """OCR-confusable folding makes "8" and "6" alike; on a keypad they are different keys."""
    from rpa_vision.locate.backends import text_similarity
    from rpa_vision.locate.locator import _case_aware

    assert _case_aware("8", "6", text_similarity("8", "6")) <= 0.6
    assert _case_aware("e", "E", text_similarity("e", "E")) <= 0.6
    assert _case_aware("8", "8", text_similarity("8", "8")) == 1.0
    assert _case_aware("Cancel", "Cancei", 0.9) == 0.9  # longer labels keep the OCR tolerance
