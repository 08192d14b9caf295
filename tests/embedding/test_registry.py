from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rpa_vision.core.errors import UnknownNameError, WeightsUnavailableError
from rpa_vision.embedding import available_encoders, clip_weights_status, create_encoder
from rpa_vision.embedding.clip_weights import resolve_clip_weights


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every attempt to open a connection is recorded and refused."""
    tried: list[object] = []

    def refuse(*args: object, **kw: object) -> None:
        tried.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return tried


def test_names() -> None:
    assert {"auto", "builtin", "clip"} <= set(available_encoders())


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(UnknownNameError) as ei:
        create_encoder("resnet9000")
    assert "builtin" in str(ei.value) and "clip" in str(ei.value)


def test_auto_falls_back_to_builtin_and_says_why(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 no_network: list[object]) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # even when the caller did not ask for offline
    enc = create_encoder("auto")
    assert enc.name == "builtin"
    assert "no local CLIP weights" in enc.provenance()["chosen_because"]
    assert no_network == []  # it looked at files only, it never tried to download


def test_clip_without_weights_is_a_clear_error(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    with pytest.raises(WeightsUnavailableError, match="models download clip"):
        create_encoder("clip")
    with pytest.raises(WeightsUnavailableError, match="no such weights file"):
        create_encoder("clip", pretrained=str(tmp_path / "missing.safetensors"))


def test_status_is_offline_and_raises_when_missing(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   no_network: list[object]) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    with pytest.raises(WeightsUnavailableError, match="ViT-B-32") as ei:
        clip_weights_status()
    assert "models download clip" in str(ei.value)  # says how to get them
    assert no_network == []


@pytest.mark.parametrize("layout", ["home-folder", "home-file", "hf-cache"])
def test_weights_found_in_each_place(layout: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    if layout == "home-folder":
        f = home / "models" / "ViT-B-32" / "laion2b_s34b_b79k" / "open_clip_model.safetensors"
    elif layout == "home-file":
        f = home / "models" / "ViT-B-32_laion2b_s34b_b79k.pt"
    else:
        f = (hub / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K" / "snapshots" / "abc123"
             / "open_clip_pytorch_model.bin")
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    loc = resolve_clip_weights()
    assert loc.found and loc.path == f
    assert str(f) in clip_weights_status()
