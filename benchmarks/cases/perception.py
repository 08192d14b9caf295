"""Perceiver figures: a 4K frame perceived cold (state vector, builtin encoder) and unchanged."""

from __future__ import annotations

import numpy as np

from benchmarks.cases.roi import busy_4k, changed_widget
from benchmarks.harness import BenchContext, bench_case
from rpa_vision.core.frame import Frame


def _frames(n: int) -> list[np.ndarray]:
    base, _ = busy_4k()
    out = []
    for i in range(n):  # distinct content: no frame-key or embedding-cache hits across repeats
        img = base.copy()
        img[:64, :64] = (37 * i) % 256
        out.append(img)
    return out


@bench_case("4k_cold", "perception")
def perception_4k_cold(ctx: BenchContext) -> None:
    """perceive() of a busy 4K BGRA screenshot of real applications never seen before (a corner
    changed each time): regions, global embedding, state vector."""
    from rpa_vision.embedding import create_encoder
    from rpa_vision.perception import Perceiver

    perceiver = Perceiver(create_encoder("builtin"))
    frames = _frames(8)
    k = [0]

    def once() -> None:
        k[0] += 1
        perceiver.perceive(Frame.from_array(frames[k[0] % len(frames)], "BGRA", timestamp=float(k[0])))

    def setup() -> None:
        perceiver.clear()
        perceiver.cache.clear()

    last = perceiver.perceive(Frame.from_array(frames[0], "BGRA"))
    ctx.time("4k_cold", once, setup=setup, repeats=16, target="<= 100 ms",
             extra={"regions": len(last.regions), "source": busy_4k()[1],
                    "stages_ms": {k: round(v, 2) for k, v in last.timings_ms.items()}})


@bench_case("unchanged", "perception")
def perception_unchanged(ctx: BenchContext) -> None:
    """perceive() of the same 4K frame again (a new Frame object with the same pixels)."""
    from rpa_vision.embedding import create_encoder
    from rpa_vision.perception import Perceiver

    perceiver = Perceiver(create_encoder("builtin"))
    img = _frames(1)[0]
    perceiver.perceive(Frame.from_array(img, "BGRA"))
    frame = Frame.from_array(img, "BGRA")
    ctx.time("unchanged", lambda: perceiver.perceive(frame), repeats=200, target="<= 5 ms")
    ctx.time("unchanged_with_frame_key", lambda: perceiver.perceive(Frame.from_array(img, "BGRA")),
             repeats=100, target="<= 5 ms", extra={"note": "includes computing the frame key of a new Frame"})


@bench_case("region_embeddings_after_one_widget", "perception", quick=False)
def perception_dirty(ctx: BenchContext) -> None:
    """All region embeddings of a 4K frame where one widget changed (dirty rect given), after
    the previous frame's were computed: only regions touching the change are embedded."""

    from rpa_vision.embedding import create_encoder
    from rpa_vision.perception import Perceiver

    perceiver = Perceiver(create_encoder("builtin"))
    base, _ = busy_4k()
    k = [0]

    def setup() -> None:
        perceiver.clear()
        perceiver.cache.clear()
        perceiver.perceive(Frame.from_array(base, "BGRA")).region_embeddings()

    def once() -> None:
        k[0] += 1
        img, box = changed_widget(base, k[0])
        perceiver.perceive(Frame.from_array(img, "BGRA"), [box]).region_embeddings()

    ctx.time("dirty_perceive_and_all_region_embeddings", once, setup=setup, repeats=8)
