"""Benchmark harness: registered cases, repeat timing, statistics, ratios to a same-run baseline.

A case is a function ``fn(ctx: BenchContext) -> None`` that records results through
``ctx.time(...)`` (latency statistics over repeats) or ``ctx.value(...)`` (a measured figure
such as a recall or a memory size). A result may name a ``baseline`` result of the same run;
the report then carries ``ratio = baseline.p50 / result.p50`` (how many times faster) or for
values ``ratio = value / baseline.value``.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CaseFn = Callable[["BenchContext"], None]


@dataclass(frozen=True)
class BenchCase:
    name: str
    group: str
    fn: CaseFn
    quick: bool = True  # runs under --quick too
    description: str = ""


_REGISTRY: dict[str, BenchCase] = {}


def bench_case(name: str, group: str, *, quick: bool = True, description: str = "") -> Callable[[CaseFn], CaseFn]:
    """Register a benchmark case under ``group/name``."""

    def deco(fn: CaseFn) -> CaseFn:
        key = f"{group}/{name}"
        _REGISTRY[key] = BenchCase(name, group, fn, quick, description or (fn.__doc__ or "").strip())
        return fn

    return deco


def discover() -> dict[str, BenchCase]:
    """Import every module of ``benchmarks.cases`` and return the registry."""
    import benchmarks.cases as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    return dict(_REGISTRY)


@dataclass
class Result:
    case: str
    name: str
    unit: str
    p50: float | None = None
    p90: float | None = None
    min: float | None = None
    mean: float | None = None
    n: int = 0
    value: float | None = None
    baseline: str | None = None
    ratio: float | None = None
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.case}:{self.name}"

    @property
    def headline(self) -> float | None:
        return self.value if self.value is not None else self.p50


def summarize(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    n = len(s)
    p90 = s[min(n - 1, int(round(0.9 * (n - 1))))]
    return {"p50": statistics.median(s), "p90": p90, "min": s[0], "mean": statistics.fmean(s)}


class BenchContext:
    """What a case gets: the quick flag, timing helpers and a place to record results."""

    def __init__(self, case: str, quick: bool, results: list[Result]) -> None:
        self.case = case
        self.quick = quick
        self._results = results

    def repeats(self, full: int, quick: int | None = None) -> int:
        return max(1, quick if (self.quick and quick is not None) else (max(1, full // 4) if self.quick else full))

    def time(
        self,
        name: str,
        fn: Callable[[], object],
        *,
        repeats: int = 30,
        warmup: int = 2,
        unit: str = "ms",
        per: int = 1,
        baseline: str | None = None,
        target: str | None = None,
        setup: Callable[[], object] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Result:
        """Time ``fn`` ``repeats`` times (after ``warmup`` calls). ``per`` divides each sample
        (e.g. a batch of 32 → ms per item). ``setup`` runs before each call, untimed."""
        reps = self.repeats(repeats)
        for _ in range(warmup):
            if setup:
                setup()
            fn()
        samples: list[float] = []
        for _ in range(reps):
            if setup:
                setup()
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000.0 / per)
        st = summarize(samples)
        r = Result(self.case, name, unit, n=reps, baseline=baseline, target=target, extra=dict(extra or {}), **st)
        self._results.append(r)
        return r

    def value(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: str | None = None,
        target: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Result:
        r = Result(
            self.case, name, unit, value=float(value), n=1, baseline=baseline, target=target, extra=dict(extra or {})
        )
        self._results.append(r)
        return r


def _fill_ratios(results: list[Result]) -> None:
    by_key = {r.key: r for r in results}
    by_name: dict[str, Result] = {}
    for r in results:
        by_name.setdefault(r.name, r)
    for r in results:
        if not r.baseline:
            continue
        base = by_key.get(r.baseline) or by_key.get(f"{r.case}:{r.baseline}") or by_name.get(r.baseline)
        if base is None or base.headline in (None, 0) or r.headline in (None, 0):
            continue
        if r.value is not None:
            r.ratio = r.value / base.headline
        else:
            r.ratio = base.headline / r.headline


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:  # pragma: no cover
        pass
    return info


def run_cases(
    cases: Iterable[BenchCase],
    *,
    quick: bool,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    results: list[Result] = []
    errors: list[dict[str, str]] = []
    started = time.time()
    for case in cases:
        key = f"{case.group}/{case.name}"
        if progress:
            progress(f"running {key} ...")
        t0 = time.perf_counter()
        try:
            case.fn(BenchContext(key, quick, results))
        except Exception as exc:
            errors.append(
                {"case": key, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
            )
            if progress:
                progress(f"  FAILED {key}: {type(exc).__name__}: {exc}")
        else:
            if progress:
                progress(f"  done {key} in {time.perf_counter() - t0:.1f} s")
    _fill_ratios(results)
    return {
        "schema_version": 1,
        "started": started,
        "duration_s": time.time() - started,
        "quick": quick,
        "machine": machine_info(),
        "results": [asdict(r) for r in results],
        "errors": errors,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'case:metric':<58} {'p50/value':>12} {'p90':>10} {'min':>10} {'unit':<8} {'ratio':>8}  target"]
    for r in report["results"]:
        head = r["value"] if r["value"] is not None else r["p50"]
        def f(v: float | None) -> str:
            return "" if v is None else (f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}")
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"{(r['case'] + ':' + r['name'])[:58]:<58} {f(head):>12} {f(r['p90']):>10} {f(r['min']):>10} "
            f"{r['unit']:<8} {ratio:>8}  {r['target'] or ''}"
        )
    for e in report["errors"]:
        lines.append(f"ERROR {e['case']}: {e['error']}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: Path) -> None:
    from rpa_vision.core.atomic import atomic_write_json

    atomic_write_json(path, report)


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
