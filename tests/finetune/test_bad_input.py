"""Bad input: corrupt adapters and example stores, an encoder change, too few examples; the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.cli import main
from rpa_vision.core.errors import ProvenanceMismatchError
from rpa_vision.core.paths import Paths
from rpa_vision.finetune import Adapter, FineTuneConfig, FineTuner

from .helpers import icon, pixel_embed

PROV: dict[str, Any] = {"name": "pixel16", "dim": 256}


def _tuner(home: Path, embed: Callable[[Sequence[np.ndarray]], np.ndarray] = pixel_embed,
           prov: dict[str, Any] = PROV, dim: int = 256) -> FineTuner:
    return FineTuner(Paths(home), embed, prov, dim, FineTuneConfig(auto_after=0))


def _feed(t: FineTuner, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        v = i % 2
        t.add_example("correction", icon(v, rng), icon(v, rng), [icon(1 - v, rng)], {"workflow": "w", "step": v})


def test_corrupt_current_adapter_falls_back_to_the_last_good_one(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 20)
    t.run()
    v1 = t.registry.current
    t.registry.publish(Adapter(v1.weight * 0.5, v1.bias * 0.5, 2, dict(v1.encoder)))
    assert t.registry.versions() == [1, 2] and t.registry.current.version == 2
    (tmp_path / "adapters" / "adapter-v2.npz").write_bytes(b"\x00" * 40)
    again = _tuner(tmp_path)
    assert again.registry.current.version == 1
    np.testing.assert_array_equal(again.registry.current.weight, v1.weight)
    assert any("v2" in w for w in again.status().warnings)


def test_corrupt_examples_store_is_reported_in_the_status(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 3)
    (tmp_path / "finetune" / "examples.json").write_text("{ broken")
    again = _tuner(tmp_path)
    st = again.status()
    assert st.examples == 2  # the previous copy, one example short
    assert any("corrupt" in w for w in st.warnings)


def test_encoder_change_of_dimension_keeps_examples_and_retrains(tmp_path: Path) -> None:
    t = _tuner(tmp_path)
    _feed(t, 20)
    t.run()
    assert t.registry.current.version == 1

    def small_embed(images: Sequence[np.ndarray]) -> np.ndarray:
        return pixel_embed(images)[:, ::4].copy()  # another encoder: 64-D

    other = _tuner(tmp_path, small_embed, {"name": "pixel16-small", "dim": 64}, 64)
    assert other.registry.current.is_identity and other.registry.warnings  # the 256-D adapter is not used
    assert len(other.store) == 20  # examples kept: their crops are re-embedded by the new encoder
    with pytest.raises(ProvenanceMismatchError, match="finetune run"):
        t.registry.current.apply(np.zeros((1, 64), np.float32))
    result = other.run()
    assert result.adapter.dim == 64 and result.adapter.version == 2


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """``main`` installs a stderr handler on the library's logger: put the logger back afterwards."""
    logger = logging.getLogger("rpa_vision")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        yield
    finally:
        logger.handlers[:] = saved[0]
        logger.propagate = saved[1]
        logger.setLevel(saved[2])


def test_cli_status_run_rollback(home: Path, capsys: pytest.CaptureFixture[str], cli_logging: None) -> None:
    tmp_path = home  # RPA_VISION_HOME is restored after the test (main sets it from --home)
    home_arg = str(home)
    assert main(["finetune", "status", "--encoder", "builtin", "--home", home_arg]) == 0
    assert "adapter v0" in capsys.readouterr().out
    # too few examples: one clear line, non-zero exit
    assert main(["finetune", "run", "--encoder", "builtin", "--home", home_arg]) != 0
    err = capsys.readouterr().err
    assert "training skipped" in err and "Traceback" not in err
    assert main(["finetune", "rollback", "3", "--encoder", "builtin", "--home", home_arg]) != 0
    assert "no adapter version 3" in capsys.readouterr().err
    (tmp_path / "adapters").mkdir(exist_ok=True)
    (tmp_path / "adapters" / "adapter-v1.npz").write_bytes(b"garbage")
    (tmp_path / "adapters" / "current.json").write_text('{"version": 1}')
    assert main(["finetune", "status", "--encoder", "builtin", "--home", home_arg]) == 0
    out = capsys.readouterr().out
    assert "adapter v0" in out and "warning: adapter v1 is not usable" in out
