from __future__ import annotations

from pathlib import Path

import numpy as np

from rpa_vision.finetune import ExampleStore

from .helpers import icon


def _crop(seed: int) -> np.ndarray:
    return icon(seed % 2, np.random.default_rng(seed))


def test_add_persists_dedups_and_reloads(tmp_path: Path) -> None:
    s = ExampleStore(tmp_path)
    a, b, c = _crop(0), _crop(1), _crop(2)
    e = s.add("correction", a, b, [c], {"workflow": "w", "step": 1})
    assert e is not None and len(e.negatives) == 1
    assert s.add("correction", a, b, [c], {"workflow": "w", "step": 1}) is None  # duplicate
    again = ExampleStore(tmp_path)
    assert [x.id for x in again.examples()] == [e.id]
    np.testing.assert_array_equal(again.crop(e.positive), b)
    assert again.added_since_training == 1


def test_bounded_drops_oldest_and_their_crops(tmp_path: Path) -> None:
    s = ExampleStore(tmp_path, max_examples=3)
    ids = [s.add("confirmation", _crop(10 + i), _crop(100 + i)) for i in range(5)]
    kept = [e.id for e in s.examples()]
    assert kept == [e.id for e in ids[2:] if e is not None]
    live = {h for e in s.examples() for h in (e.target, e.positive)}
    on_disk = {p.stem for p in (tmp_path / "crops").iterdir()}
    assert on_disk == live


def test_corrupt_store_falls_back_to_previous_copy(tmp_path: Path) -> None:
    s = ExampleStore(tmp_path)
    first = s.add("confirmation", _crop(1), _crop(2))
    s.add("confirmation", _crop(3), _crop(4))
    (tmp_path / "examples.json").write_text('{"schema_version": 1, "examples": [trunc')
    again = ExampleStore(tmp_path)
    got = again.examples()
    assert first is not None and [e.id for e in got] == [first.id]
    assert list(tmp_path.glob("examples.json.bad-*")) == []  # the backup was good: nothing set aside yet


def test_corrupt_store_without_backup_starts_empty_and_keeps_the_bad_file(tmp_path: Path) -> None:
    (tmp_path / "examples.json").write_text("garbage")
    s = ExampleStore(tmp_path)
    assert s.examples() == []
    assert len(list(tmp_path.glob("examples.json.bad-*"))) == 1


WRITER = """
import sys
import numpy as np
from pathlib import Path
from rpa_vision.finetune import ExampleStore
store = ExampleStore(Path(sys.argv[1]))
seed = int(sys.argv[2])
for i in range(int(sys.argv[3])):
    rng = np.random.default_rng(seed * 1000 + i)
    a, b = (rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(2))
    store.add("confirmation", a, b)
"""


def test_two_processes_adding_at_once_lose_no_example(tmp_path: Path) -> None:
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(seed), "25"]) for seed in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = ExampleStore(tmp_path)
    assert len(store) == 50
    assert store.pending() == 50
