"""Write docs/PERFORMANCE.md and docs/success_by_perturbation.png from ``rpa-vision bench --json`` output.

    rpa-vision bench --json bench.json            # or: --only 'eval/*' for the evaluation alone
    python scripts/make_performance_doc.py bench.json [more.json ...] [--out docs/PERFORMANCE.md]

Several reports are merged (later files win for the same case:metric). Nothing is invented: a
figure that is not in the reports is shown as "not measured".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# (claim in the project's seeds, case prefix, result name, how the claim reads)
CLAIMS: list[tuple[str, str, str]] = [
    ("ROI on a 4K frame: 25 ms", "roi/4k_cold", "4k_cold"),
    ("State fusion < 100 ms (perceive a 4K frame)", "perception/4k_cold", "4k_cold"),
    ("End-to-end step < 500 ms (locate on 1080p)", "locate/locate_1080p", "locate_p50"),
    ("End-to-end step < 500 ms (dry-run replay step)", "replay/step_real_locator", "dry_run_per_step"),
    ("FAISS k=5 in 10k vectors < 10 ms", "index/search_10k", "search_10k_k5_p50"),
    ("FAISS k=5 in 1M vectors 20-50 ms", "index/million", "search_1m_k5_p50"),
    ("Embedding cache hit < 1 ms", "embedding/", "cache_get_hit"),
    ("Batched embedding ~12x faster than one by one", "embedding/", "builtin_one_by_one"),
]
BARS = "Bars: Locator >= 95 % on every perturbation, wrong element <= 1 %, latency <= PyAutoGUI on 1080p, " \
       "state top-1 >= 98 %, ROI recall >= 95 %."


def load(paths: list[Path]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    results: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for p in paths:
        try:
            rep = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"error: cannot read {p}: {exc}") from exc
        if not isinstance(rep, dict) or "results" not in rep:
            raise SystemExit(f"error: {p} is not an 'rpa-vision bench --json' report")
        runs.append({"file": p.name, "quick": rep.get("quick"), "machine": rep.get("machine", {}),
                     "duration_s": rep.get("duration_s")})
        for r in rep["results"]:
            results[f"{r['case']}:{r['name']}"] = r
        errors += rep.get("errors", [])
    return results, errors, runs


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}g}"


def headline(r: dict[str, Any]) -> float | None:
    return r["value"] if r.get("value") is not None else r.get("p50")


def locate_tables(results: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, float]]]:
    rep = results.get("eval/locate:trials", {}).get("extra", {}).get("report")
    if not rep:
        return ["Element location was not measured in these reports (run `rpa-vision bench --only 'eval/*'`).", ""], {}
    table: dict[str, dict[str, Any]] = rep["by_perturbation"]
    methods = list(table)
    perts = sorted({p for rows in table.values() for p in rows}, key=lambda p: (p != "moved", p))
    lines = [f"Trials: {rep['trials']} ({rep.get('per_pair') or 'all'} clickable elements per base/perturbed "
             "pair). Success = the click point (centre of the returned box) is inside the right element's "
             "ground-truth box; auto = success with a confident answer; wrong = a confident answer on another "
             "element.", ""]
    if rep.get("unavailable"):
        for m, why in rep["unavailable"].items():
            lines.append(f"- **{m}: not available** — {why}")
        lines.append("")
    lines.append("| perturbation | " + " | ".join(methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    success: dict[str, dict[str, float]] = {m: {} for m in methods}
    for p in perts:
        cells = []
        for m in methods:
            s = table[m].get(p)
            if s is None:
                cells.append("–")
                continue
            success[m][p] = 100 * s["success"]
            cells.append(f"{100 * s['success']:.1f} % (auto {100 * s['auto_success']:.0f}, n={s['n']})")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines += ["", "| method | success | auto | wrong element | not found | median ms (1080p) | × PyAutoGUI@0.9 |",
              "|---|---|---|---|---|---|---|"]
    for m in methods:
        o = rep["overall"][m]
        ratio = rep["latency_ratio_to_pyautogui"].get(m)
        lines.append(f"| {m} | {100 * o['success']:.1f} % | {100 * o['auto_success']:.1f} % | "
                     f"{100 * o['wrong']:.1f} % | {100 * o['not_found']:.1f} % | "
                     f"{fmt(rep['median_ms_1080p'].get(m), 4)} | {fmt(ratio)} |")
    broken = []
    for m in methods:
        if m == "locator":
            continue
        bad = [p for p, v in success[m].items() if v < 50]
        if bad:
            broken.append(f"- {m}: below 50 % on {', '.join(bad)}")
    if broken:
        lines += ["", "Perturbations that break the baselines:", *broken]
    return [*lines, ""], success


def plot(success: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(success)
    perts = sorted({p for rows in success.values() for p in rows}, key=lambda p: (p != "moved", p))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(perts) + 2), 4.2))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(perts))]
        ax.bar(xs, [success[m].get(p, 0.0) for p in perts], width, label=m)
    ax.axhline(95, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(perts)))
    ax.set_xticklabels(perts)
    ax.set_ylabel("success %")
    ax.set_ylim(0, 105)
    ax.set_title("Finding an element recorded on the base screen, per perturbation")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(results: dict[str, dict[str, Any]], prefix: str, title: str) -> list[str]:
    rows = [r for k, r in results.items() if k.startswith(prefix)]
    if not rows:
        return [f"## {title}", "", "Not measured in these reports.", ""]
    lines = [f"## {title}", "", "| metric | value | unit | target |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {fmt(headline(r), 4)} | {r['unit']} | {r.get('target') or ''} |")
    return [*lines, ""]


def claims(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## The seeds' claims next to what we measured", "",
             "| claim | measured | unit | ratio | case |", "|---|---|---|---|---|"]
    for claim, prefix, name in CLAIMS:
        hit = next((r for k, r in results.items() if k.startswith(prefix) and r["name"] == name), None)
        if hit is None:
            lines.append(f"| {claim} | not measured | | | {prefix} |")
        else:
            lines.append(f"| {claim} | {fmt(headline(hit), 4)} | {hit['unit']} | {fmt(hit.get('ratio'))} | "
                         f"{hit['case']}:{hit['name']} |")
    return [*lines, ""]


def render(results: dict[str, dict[str, Any]], errors: list[dict[str, Any]], runs: list[dict[str, Any]],
           figure: str) -> tuple[str, dict[str, dict[str, float]]]:
    out = ["# Performance", "", "Generated by `scripts/make_performance_doc.py` from `rpa-vision bench --json` "
           "reports; do not edit by hand.", ""]
    for run in runs:
        m = run["machine"]
        out.append(f"- {run['file']}: {'quick' if run['quick'] else 'full'} run, {fmt(run['duration_s'])} s, "
                   f"{m.get('cpu_count')} CPUs, {m.get('platform', '')}, Python {m.get('python', '')}")
    out += ["", BARS, "", "## Finding elements across perturbations (data/suite)", ""]
    lines, success = locate_tables(results)
    out += lines
    if success:
        out += [f"![success by perturbation]({figure})", ""]
    out += section(results, "eval/state_top1", "State recognition (top-1)")
    out += section(results, "eval/roi_recall", "ROI recall against ground truth (IoU >= 0.5)")
    out += section(results, "eval/encoder_invariance", "builtin encoder invariance (element top-1 within its screen)")
    out += claims(results)
    if errors:
        out += ["## Cases that failed", ""] + [f"- {e['case']}: {e['error']}" for e in errors] + [""]
    return "\n".join(out), success


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "PERFORMANCE.md")
    p.add_argument("--figure", type=Path, default=None, help="default: success_by_perturbation.png next to --out")
    args = p.parse_args(argv)
    results, errors, runs = load(args.reports)
    figure = args.figure or args.out.parent / "success_by_perturbation.png"
    text, success = render(results, errors, runs, figure.name)
    sys.path.insert(0, str(REPO))
    from rpa_vision.core.atomic import atomic_write_text

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, text + "\n")
    if success:
        plot(success, figure)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
