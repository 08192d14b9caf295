"""The seeds' claims table and docs/PERFORMANCE.md generation from a bench report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import pytest

from benchmarks.eval.claims import CLAIMS, claim_rows
from benchmarks.eval.methods import PyAutoGUIMethod, TemplateMethod
from benchmarks.eval.metrics import Answer, Trial
from benchmarks.eval.report import locate_report
from benchmarks.harness import discover
from rpa_vision.core.geometry import Box

REPO = Path(__file__).resolve().parents[2]


def _res(case: str, name: str, *, p50: float | None = None, value: float | None = None) -> dict[str, object]:
    return {"case": case, "name": name, "unit": "ms", "p50": p50, "p90": None if p50 is None else p50 * 1.2,
            "value": value, "ratio": None, "target": None, "extra": {}}


def test_claims_point_at_registered_cases() -> None:
    registry = discover()
    for c in CLAIMS:
        assert c.case in registry, c.case


def test_claim_rows_judge_each_claim_and_say_what_was_not_measured() -> None:
    results = [
        _res("roi/4k_cold", "4k_cold", p50=31.0),
        _res("perception/4k_cold", "4k_cold", p50=60.0),
        _res("embedding/builtin_throughput", "builtin_batched", p50=0.05),
        _res("embedding/builtin_throughput", "builtin_one_by_one", p50=0.8),
        _res("embedding/cache_hit", "cache_get_hit", p50=0.004),
    ]
    rows = {r["key"]: r for r in claim_rows(results)}
    assert set(rows) == {c.key for c in CLAIMS}
    assert rows["roi_4k"]["measured"] == 31.0 and rows["roi_4k"]["holds"] is False
    assert rows["state_fusion"]["holds"] is True and rows["state_fusion"]["p90"] == pytest.approx(72.0)
    assert rows["batched_builtin"]["measured"] == pytest.approx(16.0) and rows["batched_builtin"]["holds"] is True
    assert rows["batched_builtin"]["unit"] == "x"
    assert rows["cache_hit"]["holds"] is True
    assert rows["faiss_1m"]["measured"] is None and rows["faiss_1m"]["holds"] is None
    assert rows["batched_clip"]["measured"] is None  # neither CLIP figure present


def _load_script():
    spec = importlib.util.spec_from_file_location("make_performance_doc", REPO / "scripts" / "make_performance_doc.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _report(tmp_path: Path) -> Path:
    truth = Box(10, 10, 50, 30)
    ok, far = Box(12, 12, 48, 28), Box(400, 400, 440, 420)
    trials = []
    for i in range(4):
        good = Answer(ok, 0.9, True, 20.0)
        trials.append(Trial("locator", "a->b", "qt", "scale", f"e{i}", truth, good, (1920, 1080)))
        bad = Answer(far, 0.9, True, 10.0) if i else Answer(None, 0.0, False, 10.0)
        trials.append(Trial("pyautogui@0.9", "a->b", "qt", "scale", f"e{i}", truth, bad, (1920, 1080)))
        trials.append(Trial("pyautogui@0.9", "a->c", "qt", "moved", f"e{i}", truth, Answer(ok, 0.9, True, 10.0),
                            (1920, 1080)))
    methods = [type("M", (), {"name": n})() for n in ("locator", "pyautogui@0.9")]
    rep = locate_report(trials, {"template_multiscale": "not installed"}, methods)  # type: ignore[arg-type]
    results = [
        {**_res("eval/locate", "trials", value=len(trials)), "extra": {"report": rep}},
        {**_res("eval/state_top1", "top1", value=97.0), "unit": "%", "target": ">= 98 %"},
        _res("roi/4k_cold", "4k_cold", p50=22.0),
        {**_res("eval/seed_claims", "claims_measured", value=1), "extra": {"rows": [
            {"key": "cache_hit", "claim": "Embedding cache hit < 1 ms", "measured": 0.01, "unit": "ms", "p90": 0.02,
             "holds": True, "source": "embedding/cache_hit:cache_get_hit"}]}},
    ]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"schema_version": 1, "quick": True, "duration_s": 12.0, "results": results,
                                "errors": [{"case": "index/million", "error": "MemoryError: x"}],
                                "machine": {"cpu_count": 2, "platform": "Linux", "python": "3.11"}}))
    return path


def test_performance_doc_has_tables_plot_and_claims(tmp_path: Path) -> None:
    mod = _load_script()
    out = tmp_path / "docs" / "PERFORMANCE.md"
    assert mod.main([str(_report(tmp_path)), "--out", str(out), "--note", "load 3.2 on 2 cores"]) == 0
    assert "- Note: load 3.2 on 2 cores" in out.read_text()
    text = out.read_text()
    assert "| scale | 100.0 % (auto 100, n=4) | 0.0 % (auto 0, n=4) |" in text
    assert "| moved | – | 100.0 % (auto 100, n=4) |" in text
    assert "| locator | 100.0 % | 100.0 % | 0.0 % | 0.0 % | 20 | 2 |" in text  # 2x PyAutoGUI's median
    assert "| pyautogui@0.9 | 50.0 % | 50.0 % | 37.5 % | 12.5 % |" in text
    assert "pyautogui@0.9: below 50 % on scale" in text
    assert "template_multiscale: not available" in text
    assert "| ROI proposals on a 4K frame: 25 ms | 22 ms |" in text
    assert ("| Embedding cache hit < 1 ms | 0.01 ms | 0.02 | yes | embedding/cache_hit:cache_get_hit "
            "(eval/seed_claims) |") in text
    assert "| FAISS k=5 in 1M vectors 20-50 ms | not measured |" in text
    assert "| top1 | 97 | % | >= 98 % |" in text
    assert "index/million: MemoryError" in text
    png = cv2.imread(str(out.parent / "success_by_perturbation.png"))
    assert png is not None and png.shape[0] > 200


def test_a_failed_case_measured_by_a_later_report_is_not_listed_as_failed(tmp_path: Path) -> None:
    mod = _load_script()
    first = _report(tmp_path)  # index/million failed there
    rerun = tmp_path / "rerun.json"
    rerun.write_text(json.dumps({"schema_version": 1, "quick": False, "duration_s": 5.0, "errors": [],
                                 "results": [_res("index/million", "search_1m_k5_p50", p50=3.0)]}))
    out = tmp_path / "P.md"
    assert mod.main([str(first), str(rerun), "--out", str(out)]) == 0
    assert "index/million: MemoryError" not in out.read_text()
    assert mod.main([str(first), "--out", str(out)]) == 0
    assert "index/million: MemoryError" in out.read_text()


def test_performance_doc_rejects_a_file_that_is_no_bench_report(tmp_path: Path) -> None:
    mod = _load_script()
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"foo": 1}))
    with pytest.raises(SystemExit, match="not an 'rpa-vision bench --json' report"):
        mod.main([str(bad), "--out", str(tmp_path / "P.md")])


def test_baselines_find_an_unchanged_element_and_pyautogui_misses_a_rescaled_one() -> None:
    from benchmarks.suite.load import load_suite

    suite = load_suite()
    base, moved, scaled = suite.get("qt_base"), suite.get("qt_moved"), suite.get("qt_scale200")
    el = next(e for e in base.clickable if e.id == "qt/btn_save") if base.element("qt/btn_save") else base.clickable[0]
    exact = PyAutoGUIMethod(0.9)
    ans = exact.find(base, el, moved.image)
    assert ans.box is not None and moved.element(el.id).box.contains(ans.box.center)
    assert exact.find(base, el, scaled.image).box is None  # 2x larger: plain matching at scale 1 cannot see it
    tm = TemplateMethod().find(base, el, scaled.image)
    assert tm.box is not None and tm.ms > 0
