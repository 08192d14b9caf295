from __future__ import annotations

import json

import numpy as np
import pytest

from rpa_vision.core.errors import ValidationError
from rpa_vision.workflow.model import (
    SCHEMA_VERSION,
    InvalidWorkflowName,
    Workflow,
    decode_vector,
    encode_vector,
    migrate,
    validate_name,
)
from tests.workflow.helpers import sample_workflow


def test_round_trip_through_json() -> None:
    wf, _ = sample_workflow()
    doc = json.loads(json.dumps(wf.to_json()))
    assert doc["schema_version"] == SCHEMA_VERSION
    back = Workflow.from_json(doc)
    assert back.name == wf.name and len(back.steps) == len(wf.steps)
    for a, b in zip(wf.steps, back.steps, strict=True):
        assert a.action == b.action
        assert a.target == b.target
        if a.before is not None:
            assert b.before is not None and np.allclose(a.before.vector, b.before.vector)  # type: ignore[arg-type]
    assert back.to_json() == wf.to_json()


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "..", ".hidden", "", "   ", "CON", "nul.txt", "x" * 101,
                                 "tab\there", "what?", "end."])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidWorkflowName):
        validate_name(bad)


@pytest.mark.parametrize("good", ["calc", "Rechnung 2", "add-two_numbers.v2", "计算器"])
def test_good_names(good: str) -> None:
    assert validate_name(good) == good


def test_vector_encoding_checks_length() -> None:
    v = np.arange(5, dtype=np.float32)
    assert np.array_equal(decode_vector(encode_vector(v), 5), v)
    with pytest.raises(ValidationError):
        decode_vector(encode_vector(v), 6)
    with pytest.raises(ValidationError):
        decode_vector("not base64!!", 5)


def test_v1_document_migrates_to_v2() -> None:
    v1 = {
        "version": 1, "name": "old", "created": 1.0, "screen": [640, 480], "scale": 1.25,
        "steps": [{"index": 0, "action": {"kind": "click", "point": [15, 25]},
                   "target": {"crop": "t0.png", "box_xywh": [10, 20, 30, 40], "text": "OK",
                              "anchors": [{"text": "Name", "box_xywh": [0, 0, 5, 5]}]}}],
    }
    doc = migrate(v1)
    assert doc["schema_version"] == 2
    wf = Workflow.from_json(doc)
    assert wf.screen.width == 640 and wf.screen.scale == 1.25
    t = wf.steps[0].target
    assert t is not None and t.xyxy.as_tuple() == (10, 20, 40, 60)
    assert t.anchors[0].xyxy.as_tuple() == (0, 0, 5, 5)


@pytest.mark.parametrize("version", [0, 3, "2", None])
def test_unknown_versions_are_refused(version: object) -> None:
    wf, _ = sample_workflow()
    doc = wf.to_json()
    doc["schema_version"] = version
    with pytest.raises(ValidationError):
        migrate(doc)


def test_step_indices_must_be_consecutive() -> None:
    wf, _ = sample_workflow()
    doc = wf.to_json()
    doc["steps"][1]["index"] = 5
    with pytest.raises(ValidationError):
        Workflow.from_json(doc)


def test_file_names_in_json_cannot_escape_the_folder() -> None:
    wf, _ = sample_workflow()
    doc = wf.to_json()
    doc["steps"][0]["target"]["crop"] = "../../etc/passwd"
    with pytest.raises(ValidationError):
        Workflow.from_json(doc)
