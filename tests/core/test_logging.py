"""Log records go to the stderr of the moment, never to a stream that was closed since."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from rpa_vision.core.logging import LOGGER_NAME, get_logger, setup_logging


@pytest.fixture
def fresh_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger(LOGGER_NAME)
    saved = (root.handlers[:], root.level, root.propagate)
    root.handlers.clear()
    yield root
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def test_records_follow_a_replaced_stderr(fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging()
    get_logger("t").warning("one")
    first.close()  # e.g. a captured stream that its owner closed
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    get_logger("t").warning("two")
    assert "two" in second.getvalue() and "one" not in second.getvalue()


def test_an_explicit_stream_is_kept(fresh_logger: logging.Logger) -> None:
    out = io.StringIO()
    setup_logging(1, stream=out)
    get_logger("t").info("hello")
    assert "INFO rpa_vision.t: hello" in out.getvalue()
