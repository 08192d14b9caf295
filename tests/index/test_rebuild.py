"""rebuild_index (re-embedding from images), rebuild_with (re-projection through an adapter), the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rpa_vision.cli import main
from rpa_vision.core.errors import EncoderError, ValidationError
from rpa_vision.index import IndexConfig, PrototypeIndex, Provenance, load_index, rebuild_index, save_index

from .helpers import clustered, metas

D = 12


class FakeEncoder:
    """Mean colour per cell of a 2x2 grid; refuses images whose top-left pixel is (1, 2, 3)."""

    name = "fake"
    dim = D

    def provenance(self) -> dict[str, Any]:
        return {"encoder": "fake", "weights": "w1", "dim": D}

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        out = []
        for im in images:
            if tuple(im[0, 0]) == (1, 2, 3):
                raise EncoderError("cannot embed this one")
            h, w = im.shape[0] // 2, im.shape[1] // 2
            cells = [im[:h, :w], im[:h, w:], im[h:, :w], im[h:, w:]]
            v = np.concatenate([c.reshape(-1, 3).mean(0) for c in cells]).astype(np.float32) + 1.0
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (20, 30, 3), dtype=np.uint8) for _ in range(n)]


def test_rebuild_index_from_a_source_with_progress_and_skips() -> None:
    imgs = _images(10)
    imgs[4][0, 0] = (1, 2, 3)
    source = [(im, {"workflow": "calc", "step": i, "kind": "target"}) for i, im in enumerate(imgs)]
    source.append(("not an item",))  # type: ignore[arg-type]
    seen: list[tuple[int, int | None]] = []
    res = rebuild_index(source, FakeEncoder(), batch_size=3, total=10, progress=lambda d, t: seen.append((d, t)))
    assert res.added == 9 and len(res.index) == 9 and len(res.skipped) == 2
    assert res.index.provenance == Provenance("fake", D, "w1")
    assert seen[-1] == (10, 10)
    r = res.index.search(FakeEncoder().embed([imgs[7]]), 1)
    assert r.metadata[0][0] is not None and r.metadata[0][0].step == 7
    with pytest.raises(EncoderError):
        rebuild_index(source[:6], FakeEncoder(), skip_bad=False)


@pytest.mark.parametrize(("storage", "tol"), [("float32", 1e-6), ("float16", 1e-3)])
def test_rebuild_with_adapter_keeps_ids_metadata_and_base(storage: str, tol: float) -> None:
    ix = PrototypeIndex(Provenance("t", D), IndexConfig(ivf_threshold=100, background=False,
                                                        ivf_storage=storage))  # type: ignore[arg-type]
    v = clustered(150, D, seed=1)
    ids = ix.add(v, metas(150))
    ix.remove(ids[:10])
    rot = np.linalg.qr(np.random.default_rng(2).normal(size=(D, D)))[0].astype(np.float32)
    calls: list[int] = []
    new = ix.rebuild_with(lambda x: x @ rot, Provenance("t", D, adapter_version=1),
                          progress=lambda d, t: calls.append(d))
    assert len(new) == 140 and new.kind == "ivf" and calls[-1] == 140
    assert new.provenance.adapter_version == 1 and len(ix) == 140 and ix.provenance.adapter_version == 0
    rec = new.get(int(ids[20]))
    np.testing.assert_allclose(rec.vector, v[20] @ rot, atol=tol)
    np.testing.assert_allclose(rec.base, v[20], atol=tol)  # type: ignore[arg-type]
    assert rec.meta == ix.get(int(ids[20])).meta and int(ids[0]) not in new
    # a second adapter re-projects from the base vectors, not from the adapted ones
    newer = new.rebuild_with(lambda x: x * 2.0, Provenance("t", D, adapter_version=2))
    np.testing.assert_allclose(newer.get(int(ids[20])).vector, v[20], atol=tol)
    # back to identity: no base vectors kept
    plain = newer.rebuild_with(lambda x: x, Provenance("t", D))
    assert plain.get(int(ids[20])).base is None
    with pytest.raises(ValidationError, match="shape"):
        ix.rebuild_with(lambda x: x[:, :4], Provenance("t", D, adapter_version=1))


def _library(home: Path) -> None:
    from rpa_vision.core.paths import Paths
    from rpa_vision.workflow.store import WorkflowStore
    from tests.workflow.helpers import sample_workflow

    store = WorkflowStore(Paths.resolve(home))
    for name in ("calc", "notes"):
        wf, images = sample_workflow(name)
        store.save(wf, images)


def test_cli_stats_without_an_index(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "stats", "--home", str(home)]) != 0
    assert "rpa-vision index rebuild" in capsys.readouterr().err


def test_cli_rebuild_then_stats(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _library(home)
    assert main(["index", "rebuild", "--encoder", "builtin", "--home", str(home), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["prototypes"] == 12 and summary["workflows"] == 2 and summary["skipped"] == 0  # 3 steps x 2 x 2
    assert main(["index", "stats", "--home", str(home), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["size"] == 12 and st["type"] == "flat" and st["provenance"]["encoder"].startswith("builtin")
    assert st["generation"] == 1 and st["disk_bytes"] > 0
    assert main(["index", "stats", "--home", str(home), "--encoder", "builtin"]) == 0
    out = capsys.readouterr().out
    assert "12 prototypes" in out and "encoder: matches" in out
    ix, _ = load_index(home / "index")
    kinds = sorted({(r.meta.workflow, r.meta.kind) for r in ix})
    assert kinds == [("calc", "state"), ("calc", "target"), ("notes", "state"), ("notes", "target")]


def test_cli_rebuild_with_nothing_to_embed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "rebuild", "--encoder", "builtin", "--home", str(home)]) != 0
    assert "no prototype images" in capsys.readouterr().err


def test_cli_stats_reports_a_foreign_index(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ix = PrototypeIndex(Provenance("clip/ViT-B-32", D, "laion"))
    ix.add(clustered(5, D), metas(5))
    save_index(ix, home / "index")
    assert main(["index", "stats", "--home", str(home), "--encoder", "builtin"]) == 0
    assert "DIFFERENT" in capsys.readouterr().out


def test_rebuild_index_from_an_embedding_function_with_an_adapter() -> None:
    imgs = _images(6, seed=3)
    source = [(im, {"workflow": "calc", "step": i}) for i, im in enumerate(imgs)]
    enc = FakeEncoder()
    with pytest.raises(ValidationError, match="provenance="):
        rebuild_index(source, enc.embed)
    with pytest.raises(ValidationError, match="encoder or an embedding function"):
        rebuild_index(source, 42)  # type: ignore[arg-type]
    rot = np.linalg.qr(np.random.default_rng(4).normal(size=(D, D)))[0].astype(np.float32)
    prov = Provenance("fake", D, "w1", adapter_version=2)
    with pytest.raises(ValidationError, match="adapter v2"):
        rebuild_index(source, enc.embed, provenance=prov, adapter=lambda x: x @ rot, adapter_version=1)
    res = rebuild_index(source, enc.embed, provenance=prov, adapter=lambda x: x @ rot, adapter_version=2)
    assert res.index.provenance == prov and res.added == 6
    base = enc.embed([imgs[4]])
    rec = res.index.get(int(res.index.search(base @ rot, 1).ids[0, 0]))
    assert rec.meta.step == 4
    np.testing.assert_allclose(rec.vector, (base @ rot)[0], atol=1e-6)
    np.testing.assert_allclose(rec.base, base[0], atol=1e-6)  # type: ignore[arg-type]


def test_cli_rebuild_on_the_recorded_xcalc_workflow(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on a workflow folder recorded on xcalc: every stored thumbnail and crop is
    re-embedded, saved, and found again as its own (workflow, step, kind)."""
    import shutil

    from rpa_vision.cli.index import WorkflowImageSource
    from rpa_vision.core.paths import Paths
    from rpa_vision.embedding import create_encoder

    recorded = Path(__file__).resolve().parents[2] / "workflows" / "xcalc-multiply"
    if not (recorded / "workflow.json").is_file():
        pytest.skip("the recorded example workflow is not in this checkout")
    paths = Paths.resolve(home)
    shutil.copytree(recorded, paths.workflows / "xcalc-multiply")
    assert main(["index", "rebuild", "--encoder", "builtin", "--home", str(home), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    source = WorkflowImageSource(paths)
    assert summary["prototypes"] == len(source) > 0 and summary["skipped"] == 0
    encoder = create_encoder("builtin")
    ix, _ = load_index(paths.index, expected=Provenance.from_encoder(encoder))
    items = list(source)
    vecs = encoder.embed([im for im, _ in items])
    res = ix.search(vecs, 3)
    for q, (_, meta) in enumerate(items):
        best = [m for s, m in zip(res.scores[q], res.metadata[q], strict=True) if m is not None and s > 0.999]
        assert (meta["workflow"], meta["step"], meta["kind"]) in {(m.workflow, m.step, m.kind) for m in best}
    assert {m["kind"] for _, m in items} == {"state", "target"}


def test_cli_rebuild_applies_the_published_adapter(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The rebuilt index is in the space the fine-tuner re-projects to: current adapter, base kept."""
    from rpa_vision.cli.index import WorkflowImageSource
    from rpa_vision.core.paths import Paths
    from rpa_vision.core.settings import Settings, save_settings
    from rpa_vision.embedding import create_encoder
    from rpa_vision.finetune.adapter import Adapter
    from rpa_vision.finetune.registry import AdapterRegistry
    from rpa_vision.finetune.wiring import encoder_provenance

    _library(home)
    paths = Paths.resolve(home)
    save_settings(Settings(encoder="builtin"), paths)  # the settings name the encoder: no --encoder
    encoder = create_encoder("builtin")
    prov = encoder_provenance(encoder)
    rng = np.random.default_rng(5)
    adapter = Adapter(0.05 * rng.normal(size=(encoder.dim, encoder.dim)).astype(np.float32),
                      np.zeros(encoder.dim, np.float32), version=2, encoder=prov)
    AdapterRegistry(paths.adapters, encoder.dim, prov).publish(adapter)
    assert main(["index", "rebuild", "--home", str(home), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["encoder"]["adapter_version"] == 2 and summary["encoder"]["encoder"].startswith("builtin")
    ix, _ = load_index(paths.index, expected=Provenance.from_encoder(encoder, adapter_version=2))
    image, meta = next(iter(WorkflowImageSource(paths)))
    base = encoder.embed([image])
    rec = ix.get(int(ix.search(adapter.apply(base), 1).ids[0, 0]))
    assert (rec.meta.workflow, rec.meta.step, rec.meta.kind) == (meta["workflow"], meta["step"], meta["kind"])
    np.testing.assert_allclose(rec.vector, adapter.apply(base)[0], atol=1e-5)
    np.testing.assert_allclose(rec.base, base[0], atol=1e-5)  # type: ignore[arg-type]
    assert main(["index", "rebuild", "--home", str(home), "--json", "--no-adapter"]) == 0
    assert json.loads(capsys.readouterr().out)["encoder"]["adapter_version"] == 0
