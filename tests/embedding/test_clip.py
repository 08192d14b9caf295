"""The CLIP encoder loaded for real through open_clip, with a tiny randomly initialised model
saved to a temporary checkpoint (no download, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rpa_vision.core.errors import EncoderError, UnknownNameError, ValidationError
from rpa_vision.embedding import EmbeddingCache, create_encoder
from rpa_vision.embedding.clip import pad_to_square
from rpa_vision.embedding.synthetic import gallery

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
        "text_cfg": {"context_length": 8, "vocab_size": 500, "width": 32, "heads": 2, "layers": 1}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tinyclip")
    cfgs = d / "configs"
    cfgs.mkdir()
    (cfgs / "rpa-test-tiny.json").write_text(json.dumps(TINY))
    other = json.loads(json.dumps(TINY))
    other["vision_cfg"]["width"] = 96
    (cfgs / "rpa-test-tiny-wide.json").write_text(json.dumps(other))
    open_clip.add_model_config(cfgs)
    torch.manual_seed(0)
    model = open_clip.create_model("rpa-test-tiny", pretrained=None)
    pt = d / "tiny.pt"
    torch.save(model.state_dict(), pt)
    st = d / "tiny.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(st))
    with torch.inference_mode():
        x = torch.rand(3, 3, 32, 32)
        ref = model.encode_image(x, normalize=True).numpy()
    np.save(d / "ref_in.npy", x.numpy())
    np.save(d / "ref_out.npy", ref)
    return {"pt": pt, "st": st, "dir": d}


def test_loads_a_checkpoint_like_a_user_does(tiny: dict[str, Path]) -> None:
    enc = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), device="cpu")
    assert enc.dim == 32
    _, crops = gallery()
    v = enc.embed([*crops[:6], np.zeros((1, 1), np.uint8), np.zeros((3, 5, 4), np.uint8)])
    assert v.shape == (8, 32) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert enc.embed([]).shape == (0, 32)
    p = enc.provenance()
    assert p["encoder"] == "clip" and p["model"] == "rpa-test-tiny" and p["dim"] == 32
    assert p["weights"]["path"] == str(tiny["pt"]) and p["weights"]["fingerprint"]
    assert p["precision"] == "fp32" and p["device"] == "cpu"


def test_loaded_weights_are_the_saved_ones(tiny: dict[str, Path]) -> None:
    """The image tower of the encoder computes what the saved model computes (same input tensor)."""
    enc = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["st"]), device="cpu")
    x = torch.from_numpy(np.load(tiny["dir"] / "ref_in.npy"))
    with torch.inference_mode():
        out = enc._visual(x)
        out = (out / out.norm(dim=-1, keepdim=True)).numpy()
    np.testing.assert_allclose(out, np.load(tiny["dir"] / "ref_out.npy"), atol=1e-5)


def test_batching_does_not_change_results(tiny: dict[str, Path]) -> None:
    enc = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), device="cpu", batch_size=3)
    _, crops = gallery()
    a = enc.embed(crops[:7])
    b = np.stack([enc.embed_one(c) for c in crops[:7]])
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_checkpoint_of_another_architecture(tiny: dict[str, Path]) -> None:
    with pytest.raises(EncoderError, match="does not fit"):
        create_encoder("clip", model="rpa-test-tiny-wide", pretrained=str(tiny["pt"]))


def test_garbage_checkpoint_and_unknown_model(tiny: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EncoderError, match="cannot read checkpoint"):
        create_encoder("clip", model="rpa-test-tiny", pretrained=str(bad))
    with pytest.raises(EncoderError, match="no model"):
        create_encoder("clip", model="ViT-Nope-1", pretrained=str(tiny["pt"]))
    with pytest.raises(ValidationError):
        create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), precision="fp8")
    with pytest.raises(UnknownNameError):
        create_encoder("clip-ish")


def test_int8_quantized_agrees_with_fp32(tiny: dict[str, Path]) -> None:
    fp32 = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), device="cpu")
    q = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), device="cpu", quantize=True)
    assert q.provenance()["quantized"] == "int8-dynamic" and q.cache_key() != fp32.cache_key()
    _, crops = gallery()
    cos = np.sum(fp32.embed(crops) * q.embed(crops), axis=1)
    assert cos.min() > 0.98


def test_auto_picks_clip_when_weights_are_in_home(tiny: dict[str, Path], home: Path) -> None:
    target = home / "models" / "rpa-test-tiny" / "mytag" / "open_clip_model.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(tiny["st"].read_bytes())
    enc = create_encoder("auto", model="rpa-test-tiny", pretrained="mytag", device="cpu")
    assert enc.name == "clip"
    assert "found locally" in enc.provenance()["chosen_because"]
    assert enc.provenance()["weights"]["tag"] == "mytag"


def test_auto_finds_clip_in_the_local_hub_cache_without_network(
        tiny: dict[str, Path], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """auto looks in the local Hugging Face cache first; the model is built with the hub offline
    and no connection is ever attempted."""
    import os
    import socket

    from rpa_vision.embedding import clip_weights

    hub = tmp_path / "hub"
    snap = hub / "models--rpa-test--tiny-clip" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    (snap / "open_clip_model.safetensors").write_bytes(tiny["st"].read_bytes())
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setitem(clip_weights._KNOWN, ("rpa-test-tiny", "hubtag"), {"hf_hub": "rpa-test/tiny-clip/", "url": ""})
    tried: list[object] = []

    def refuse(*args: object, **kw: object) -> None:
        tried.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    offline_during_build: list[str | None] = []
    real = open_clip.create_model_and_transforms

    def spy(*args: object, **kw: object) -> object:
        offline_during_build.append(os.environ.get("HF_HUB_OFFLINE"))
        return real(*args, **kw)

    monkeypatch.setattr(open_clip, "create_model_and_transforms", spy)
    enc = create_encoder("auto", model="rpa-test-tiny", pretrained="hubtag", device="cpu")
    assert enc.name == "clip"
    assert "hf-cache" in enc.provenance()["chosen_because"]
    assert enc.provenance()["weights"]["path"] == str(snap / "open_clip_model.safetensors")
    assert offline_during_build == ["1"] and "HF_HUB_OFFLINE" not in os.environ  # restored afterwards
    assert tried == []
    assert enc.embed(gallery()[1][:2]).shape == (2, 32)


def test_cache_with_clip(tiny: dict[str, Path]) -> None:
    enc = create_encoder("clip", model="rpa-test-tiny", pretrained=str(tiny["pt"]), device="cpu")
    cache = EmbeddingCache()
    _, crops = gallery()
    a = cache.get_or_compute(None, crops[:4], enc)
    b = cache.get_or_compute(None, crops[:4], enc)
    np.testing.assert_array_equal(a, b)
    assert cache.get_stats().hits == 4


def test_pad_to_square_keeps_everything() -> None:
    img = np.zeros((10, 30, 3), np.uint8)
    img[:, :] = (200, 10, 10)
    img[4:6, 0] = 0
    sq = pad_to_square(img)
    assert sq.shape == (30, 30, 3)
    assert (sq[10:20] == img).all()  # the original sits in the middle, untouched
    assert tuple(sq[0, 0]) == (200, 10, 10)  # padded with the border colour
