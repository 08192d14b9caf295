"""Encoder figures: builtin throughput (batched vs one by one), CLIP ViT-B-32 latency with random
weights (fp32 and int8), embedding-cache hit latency, OCR latency, and the builtin encoder's
invariance (top-1 retrieval of the same element under theme / scale / font changes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.harness import BenchContext, bench_case

if TYPE_CHECKING:
    from rpa_vision.embedding.clip import ClipEncoder

SUITE = Path(__file__).resolve().parents[2] / "data" / "suite"


def _gui_crops(n: int) -> list[np.ndarray]:
    """``n`` GUI crops of mixed sizes, themes and scales (buttons and icons)."""
    from rpa_vision.embedding.synthetic import ICONS, LABELS, Look, render_button, render_icon

    rng = np.random.default_rng(0)
    themes = ("light", "dark", "inverted", "colour")
    out = []
    for i in range(n):
        look = Look(themes[i % 4], float(rng.choice([0.75, 1.0, 1.25, 1.5, 2.0])), (int(rng.integers(-1, 2)), 0))
        if i % 3 == 2:
            out.append(render_icon(ICONS[i % len(ICONS)], look))
        else:
            out.append(render_button(LABELS[i % len(LABELS)], look))
    return out


@bench_case("builtin_throughput", "embedding")
def builtin_throughput(ctx: BenchContext) -> None:
    """Builtin encoder: ms per crop batched (256 per call) and one crop per call; crops/s."""
    from rpa_vision.embedding.builtin import BuiltinEncoder

    enc = BuiltinEncoder()
    n = 256 if ctx.quick else 1024
    crops = _gui_crops(n)
    batched = ctx.time("builtin_batched", lambda: enc.embed(crops), repeats=6, warmup=1, unit="ms/crop", per=n,
                       target="<= 1 ms/crop (>= 1000 crops/s)", extra={"crops": n, "dim": enc.dim})
    one = crops[: min(n, 128)]
    ctx.time("builtin_one_by_one", lambda: [enc.embed([c]) for c in one], repeats=4, warmup=1, unit="ms/crop",
             per=len(one), baseline="builtin_batched", extra={"crops": len(one)})
    if batched.p50:
        ctx.value("builtin_crops_per_s", 1000.0 / batched.p50, "crops/s", target=">= 1000")


def _clip() -> ClipEncoder:
    from rpa_vision.embedding.clip import ClipEncoder

    return ClipEncoder("ViT-B-32", pretrained=None, device="cpu")


@bench_case("clip_vitb32_latency", "embedding")
def clip_latency(ctx: BenchContext) -> None:
    """open_clip ViT-B-32 image tower, RANDOM weights (speed only), CPU fp32: ms per crop at batch 1 and 32."""
    enc = _clip()
    crops = _gui_crops(32)
    ctx.time("clip_b1", lambda: enc.embed(crops[:1]), repeats=8, warmup=2, unit="ms/crop",
             extra={"device": "cpu", "weights": "random"})
    ctx.time("clip_b32", lambda: enc.embed(crops, batch_size=32), repeats=3, warmup=1,
             unit="ms/crop", per=32, baseline="clip_b1", extra={"device": "cpu", "weights": "random"})


@bench_case("clip_int8", "embedding")
def clip_int8(ctx: BenchContext) -> None:
    """int8 dynamic quantization of the ViT-B-32 image tower (Linear layers) vs fp32: speed and cosine agreement."""
    import torch

    crops = _gui_crops(32)
    torch.manual_seed(0)
    fp32 = _clip()
    q = fp32.quantized_copy()
    a = fp32.embed(crops)
    b = q.embed(crops)
    cos = np.sum(a * b, axis=1)
    f = ctx.time("clip_fp32_b32", lambda: fp32.embed(crops), repeats=3, warmup=1,
                 unit="ms/crop", per=32)
    ctx.time("clip_int8_b32", lambda: q.embed(crops), repeats=3, warmup=1, unit="ms/crop", per=32,
             baseline="clip_fp32_b32", extra={"fp32_ms": f.p50})
    ctx.value("clip_int8_cosine_min", float(cos.min()), "cosine", target=">= 0.98",
              extra={"mean": float(cos.mean()), "weights": "random"})


@bench_case("cache_hit", "embedding")
def cache_hit(ctx: BenchContext) -> None:
    """EmbeddingCache: get() of a present key, and get_or_compute() of 32 cached crops (hash + lookups)."""
    from rpa_vision.embedding import EmbeddingCache
    from rpa_vision.embedding.builtin import BuiltinEncoder

    enc = BuiltinEncoder()
    cache = EmbeddingCache(max_entries=10_000)
    crops = _gui_crops(32)
    keys = [EmbeddingCache.key(c, enc) for c in crops]
    cache.get_or_compute(keys, crops, enc)
    k = keys[7]
    loops = 2000

    def gets() -> None:
        for _ in range(loops):
            cache.get(k)

    ctx.time("cache_get_hit", gets, repeats=10, warmup=1, unit="ms", per=loops, target="<= 0.05 ms")
    ctx.time("cache_get_or_compute_32_hits", lambda: cache.get_or_compute(None, crops, enc), repeats=20,
             warmup=2, unit="ms/crop", per=32, extra={"includes": "content hash of each crop"})
    st = cache.get_stats()
    ctx.value("cache_hit_rate", st.hit_rate, "ratio", extra=st.as_dict())


@bench_case("ocr_line", "embedding", quick=False)
def ocr_line(ctx: BenchContext) -> None:
    """rapidocr on single-line button crops (recognition only), ms per crop; skipped when not installed."""
    from rpa_vision.embedding.ocr import create_ocr, rapidocr_available
    from rpa_vision.embedding.synthetic import LABELS, Look, render_button
    from rpa_vision.embedding.text import text_similarity

    if not rapidocr_available():
        ctx.value("ocr_available", 0.0, "bool")
        return
    ocr = create_ocr("rapidocr", cache_entries=0)
    crops = [render_button(t, Look("light", 1.25)) for t in LABELS]
    texts: list[str] = []

    def once() -> None:
        texts[:] = [r.text for r in ocr.read(crops)]

    ctx.time("ocr_line_ms", once, repeats=3, warmup=1, unit="ms/crop", per=len(crops))
    ok = sum(text_similarity(a, b) >= 0.8 for a, b in zip(texts, LABELS, strict=True))
    ctx.value("ocr_line_read_rate", ok / len(LABELS), "ratio", extra={"labels": len(LABELS)})


def _suite_crops(config: str) -> dict[str, np.ndarray]:
    import cv2

    truth = json.loads((SUITE / config / "truth.json").read_text(encoding="utf-8"))
    img = cv2.imread(str(SUITE / config / "screen.png"), cv2.IMREAD_COLOR)
    out = {}
    for e in truth.get("elements", []):
        x1, y1, x2, y2 = (int(round(v)) for v in e["xyxy"])
        if x2 - x1 >= 2 and y2 - y1 >= 2 and img is not None:
            out[str(e["id"])] = img[max(0, y1):y2, max(0, x1):x2]
    return out


_SUITE_PAIRS = (
    ("qt_base", "qt_dark"), ("qt_base", "qt_scale125"), ("qt_base", "qt_scale150"), ("qt_base", "qt_scale200"),
    ("qt_base", "qt_font"), ("qt_base", "qt_4k"), ("qt_base", "qt_resized"),
    ("qt_dialog_base", "qt_dialog_dark"), ("qt_settings_base", "qt_settings_dark"),
    ("qt_settings_base", "qt_settings_scale150"),
    ("xcalc_base", "xcalc_colors"), ("xcalc_base", "xcalc_reverse"), ("xcalc_base", "xcalc_font"),
    ("xcalc_base", "xcalc_4k"), ("xgc_base", "xgc_reverse"), ("xgc_base", "xgc_colors"), ("xgc_base", "xgc_font"),
)
#: The issue's invariance bar: dark theme and Qt scale 1.25 / 1.5 / 2 on the Qt app, dark (reverse
#: video) on xcalc. The other pairs are reported without a target.
_TARGETS = {"qt_dark", "qt_scale125", "qt_scale150", "qt_scale200", "qt_dialog_dark", "qt_settings_dark",
            "qt_settings_scale150", "xcalc_reverse"}


@bench_case("builtin_invariance", "embedding")
def builtin_invariance(ctx: BenchContext) -> None:
    """Top-1 retrieval of each element of a base screen among all its elements, from a perturbed screen
    (data/suite when present; rendered crops otherwise). Identical-looking elements count as misses."""
    from rpa_vision.embedding.builtin import BuiltinEncoder
    from rpa_vision.embedding.synthetic import Look, gallery, top1_accuracy

    enc = BuiltinEncoder()
    pairs = [p for p in _SUITE_PAIRS if all((SUITE / c / "truth.json").exists() for c in p)]
    if any(pert in _TARGETS for _, pert in pairs):
        accs = []
        for base, pert in pairs:
            ref, q = _suite_crops(base), _suite_crops(pert)
            ids = [i for i in ref if i in q]
            acc = top1_accuracy(enc.embed([ref[i] for i in ids]), enc.embed([q[i] for i in ids]))
            ctx.value(f"top1_{pert}", 100.0 * acc, "%", target=">= 95 %" if pert in _TARGETS else None,
                      extra={"elements": len(ids), "base": base})
            if pert in _TARGETS:
                accs.append(acc)
        ctx.value("top1_theme_and_scale_min", 100.0 * min(accs), "%", target=">= 95 %",
                  extra={"pairs": sorted(p for _, p in pairs if p in _TARGETS)})
        return
    _, gal = gallery()
    r = enc.embed(gal)
    for name, look in (("dark", Look("dark")), ("inverted", Look("inverted")), ("scale_0.5", Look("light", 0.5)),
                       ("scale_1.5", Look("light", 1.5)), ("scale_2_dark", Look("dark", 2.0))):
        _, crops = gallery(look)
        ctx.value(f"top1_synthetic_{name}", 100.0 * top1_accuracy(r, enc.embed(crops)), "%", target=">= 95 %")
