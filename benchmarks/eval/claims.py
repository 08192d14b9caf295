"""The project seeds' performance claims next to what the bench measures, in one table.

``CLAIMS`` says where each claim's figure comes from (a bench case and a result name);
``claim_rows(results)`` reads them out of a bench report's results (a list of result dicts as
``rpa-vision bench --json`` writes them) and says whether the claim holds. ``measure(quick)``
runs just the source cases in one run (what the ``eval/seed_claims`` case does), so the table
can be had without the whole bench.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    key: str
    text: str  # the claim as the seeds state it
    case: str  # bench case "group/name" that measures it
    name: str  # result name in that case
    limit: float  # the claim holds when the figure is <= limit (>= for speedups)
    speedup_over: str | None = None  # result name: figure = that result / this result (how many times faster)

    @property
    def unit(self) -> str:
        return "x" if self.speedup_over else "ms"


CLAIMS: tuple[Claim, ...] = (
    Claim("roi_4k", "ROI proposals on a 4K frame: 25 ms", "roi/4k_cold", "4k_cold", 25.0),
    Claim("state_fusion", "State fusion < 100 ms (perceive a new 4K frame)", "perception/4k_cold", "4k_cold", 100.0),
    Claim("e2e_locate", "End-to-end < 500 ms (locate a target on 1080p)", "locate/locate_1080p", "locate_p50", 500.0),
    Claim("e2e_replay_step", "End-to-end < 500 ms (dry-run replay step, real locator)", "replay/step_real_locator",
          "dry_run_per_step", 500.0),
    Claim("faiss_10k", "FAISS k=5 in 10k vectors < 10 ms", "index/search_10k", "search_10k_k5_p50", 10.0),
    Claim("faiss_1m", "FAISS k=5 in 1M vectors 20-50 ms", "index/million", "search_1m_k5_p50", 50.0),
    Claim("cache_hit", "Embedding cache hit < 1 ms", "embedding/cache_hit", "cache_get_hit", 1.0),
    Claim("batched_builtin", "Batched embedding ~12x faster than one by one (builtin encoder)",
          "embedding/builtin_throughput", "builtin_batched", 12.0, speedup_over="builtin_one_by_one"),
    Claim("batched_clip", "Batched embedding ~12x faster than one by one (CLIP ViT-B/32, batch 32)",
          "embedding/clip_vitb32_latency", "clip_b32", 12.0, speedup_over="clip_b1"),
)


def _headline(r: dict[str, Any]) -> float | None:
    v = r.get("value")
    return float(v) if v is not None else (float(r["p50"]) if r.get("p50") is not None else None)


def claim_rows(results: Iterable[dict[str, Any]], claims: Sequence[Claim] = CLAIMS) -> list[dict[str, Any]]:
    """One row per claim: ``measured`` (ms, or times faster), ``holds`` (True/False/None when not
    measured), the source ``case:name`` and its p90 where it is a timing."""
    by_key = {f"{r['case']}:{r['name']}": r for r in results}
    rows = []
    for c in claims:
        r = by_key.get(f"{c.case}:{c.name}")
        measured: float | None = None
        p90: float | None = None
        if r is not None:
            measured = _headline(r)
            p90 = r.get("p90")
            if c.speedup_over:
                slow = by_key.get(f"{c.case}:{c.speedup_over}")
                slow_v = _headline(slow) if slow is not None else None
                measured = slow_v / measured if slow_v is not None and measured else None
                p90 = None
        holds = None if measured is None else (measured >= c.limit if c.speedup_over else measured <= c.limit)
        rows.append({"key": c.key, "claim": c.text, "measured": measured, "unit": c.unit, "p90": p90,
                     "holds": holds, "source": f"{c.case}:{c.speedup_over or c.name}"})
    return rows


def measure(quick: bool, progress: Callable[[str], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the claims' source cases (only the quick ones when ``quick``) in this process, one
    after the other; returns the claim rows and the sub-report (results and errors)."""
    from benchmarks.harness import discover, run_cases

    registry = discover()
    wanted = list(dict.fromkeys(c.case for c in CLAIMS))
    cases = [registry[k] for k in wanted if k in registry and (registry[k].quick or not quick)]
    report = run_cases(cases, quick=quick, progress=progress)
    return claim_rows(report["results"]), report
