"""A process killed (SIGKILL) in the middle of a save leaves the previous copy loadable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpa_vision.index import load_index

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, signal, sys
import numpy as np
from rpa_vision.index import IndexConfig, PrototypeIndex, Provenance, save_index
from rpa_vision.index import persistence as P

root, n, stage = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
v = rng.normal(size=(n, 64)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
ix = PrototypeIndex(Provenance("builtin", 64, "v1"), IndexConfig(background=False, ivf_threshold=10**9))
ix.add(v, [{"workflow": "w", "step": i % 50} for i in range(n)])

def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

saves = 0
while True:
    if saves == 1 and stage == "data":
        P._write_file = die          # killed while writing the generation's files
    elif saves == 1 and stage == "manifest":
        P.atomic_write_json = die    # generation complete, manifest not yet replaced
    save_index(ix, root)
    saves += 1
    print(f"saved {len(ix)}", flush=True)
    ix.add(v[:1], [{"workflow": "w", "step": 0, "label": str(saves)}])
"""


def _run(root: Path, n: int, stage: str, delay: float | None) -> list[int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(n), stage], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    saved: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # wait for the first complete save
        assert line.startswith("saved"), line
        saved.append(int(line.split()[1]))
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        saved += [int(x.split()[1]) for x in proc.stdout.read().splitlines() if x.startswith("saved")]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return saved


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_moment_of_saving_in_a_loop(tmp_path: Path, seed: int) -> None:
    delay = random.Random(seed).uniform(0.05, 0.6)
    saved = _run(tmp_path, 120_000, "none", delay)
    ix, _ = load_index(tmp_path)
    # the last reported save, or the one whose manifest was renamed just before the kill
    assert len(ix) in (saved[-1], saved[-1] + 1)
    ix.search(ix.get(0).vector, 3)


@pytest.mark.parametrize("stage", ["data", "manifest"])
def test_sigkill_inside_a_save_keeps_the_previous_generation(tmp_path: Path, stage: str) -> None:
    saved = _run(tmp_path, 2000, stage, None)
    assert saved == [2000]  # the second save never finished
    ix, report = load_index(tmp_path)
    assert len(ix) == 2000 and report.generation == 1 and report.warnings == []
    assert len(list(tmp_path.glob("gen-*"))) == 2  # the incomplete one is ignored ...
    from rpa_vision.index import save_index

    save_index(ix, tmp_path)  # ... and cleaned up by the next save
    assert load_index(tmp_path)[1].generation == 3
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == ["gen-000001", "gen-000003"]
