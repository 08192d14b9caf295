"""The CLIP encoder (open_clip): image tower embeddings of GUI crops.

Weights come from a local file, ``RPA_VISION_HOME/models`` or the local open_clip / Hugging Face
cache (see ``clip_weights``); a download happens only with ``download=True``. Nothing here goes
online at start-up: ``HF_HUB_OFFLINE=1`` is set while the model is built.

Preprocessing: BGR -> RGB, the crop is padded to a square with its own border colour (so the
centre crop of open_clip's transform never cuts off the ends of a wide button or text field),
then open_clip's eval transform (resize, crop, normalise with the weights' mean/std).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rpa_vision.core.errors import DependencyMissingError, EncoderError, ValidationError, WeightsUnavailableError
from rpa_vision.core.logging import get_logger
from rpa_vision.embedding.base import INPUT_VERSION, Encoder
from rpa_vision.embedding.clip_weights import (
    DEFAULT_MODEL,
    DEFAULT_PRETRAINED,
    download_clip_weights,
    how_to_get,
    looks_like_path,
    resolve_clip_weights,
)

log = get_logger(__name__)

CLIP_PREPROCESS_VERSION = 1


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Keep the Hugging Face hub offline while a model is built (restores the caller's setting)."""
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence open_clip's root-logger warning about random initialisation (we load weights next)."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(old)


def weights_fingerprint(path: Path) -> str:
    """A cheap identity of a weights file: blake2b of its size and first and last MiB."""
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        if size > (2 << 20):
            fh.seek(size - (1 << 20))
            h.update(fh.read(1 << 20))
    return h.hexdigest()


def pad_to_square(rgb: np.ndarray) -> np.ndarray:
    """Pad an HxWx3 image to a square with the median colour of its border."""
    h, w = rgb.shape[:2]
    if h == w:
        return rgb
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]], axis=0)
    colour = [int(v) for v in np.median(border, axis=0)]
    s = max(h, w)
    top, left = (s - h) // 2, (s - w) // 2
    return cv2.copyMakeBorder(rgb, top, s - h - top, left, s - w - left, cv2.BORDER_CONSTANT, value=colour)


def default_threads() -> int:
    env = os.environ.get("RPA_VISION_TORCH_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


class ClipEncoder(Encoder):
    """open_clip image embeddings. ``pretrained`` is a tag, a file path, or None (random weights,
    for benchmarks and tests only)."""

    name = "clip"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        pretrained: str | os.PathLike[str] | None = DEFAULT_PRETRAINED,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 32,
        threads: int | None = None,
        quantize: bool = False,
        download: bool = False,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise DependencyMissingError("open_clip_torch", "pip install open_clip_torch torch") from exc
        if batch_size <= 0:
            raise ValidationError(f"batch size must be > 0, got {batch_size}", field="batch_size")
        self.batch_size = int(batch_size)
        self.model_name = str(model)
        if self.model_name not in open_clip.list_models():
            raise EncoderError(
                f"open_clip has no model {self.model_name!r} (see open_clip.list_models(), e.g. {DEFAULT_MODEL})",
                model=self.model_name,
            )
        self.threads = int(threads) if threads else default_threads()
        torch.set_num_threads(self.threads)

        # --- weights ---------------------------------------------------------------------
        tag = None if pretrained is None else str(pretrained)
        self.weights_path: Path | None = None
        self.weights_source = "random-init"
        pcfg: dict[str, Any] = {}
        if tag is not None:
            loc = resolve_clip_weights(self.model_name, tag, home)
            if not loc.found and download and not looks_like_path(tag):
                download_clip_weights(self.model_name, tag, home)
                loc = resolve_clip_weights(self.model_name, tag, home)
            if not loc.found or loc.path is None:
                raise WeightsUnavailableError(how_to_get(self.model_name, tag, home), model=self.model_name,
                                              pretrained=tag)
            self.weights_path, self.weights_source = loc.path, loc.source
            if not looks_like_path(tag):
                from open_clip.pretrained import get_pretrained_cfg

                pcfg = dict(get_pretrained_cfg(self.model_name, tag) or {})
        self.pretrained = tag

        # --- device and precision -----------------------------------------------------------
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EncoderError("device cuda requested but CUDA is not available", device=device)
        self.device = device
        if precision == "auto":
            precision = "fp16" if device.startswith("cuda") else "fp32"
        if precision not in ("fp32", "fp16", "bf16"):
            raise ValidationError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}", field="precision")
        self.precision = precision
        if quantize and device != "cpu":
            raise EncoderError("int8 dynamic quantization runs on the CPU only; use device='cpu'")
        self.quantized = bool(quantize)

        # --- model --------------------------------------------------------------------------
        kw: dict[str, Any] = {}
        for src, dst in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                         ("resize_mode", "image_resize_mode")):
            if pcfg.get(src) is not None:
                kw[dst] = pcfg[src]
        try:
            with offline(), _quiet():
                net, _, preprocess = open_clip.create_model_and_transforms(
                    self.model_name, pretrained=None, device="cpu",
                    force_quick_gelu=bool(pcfg.get("quick_gelu", False)), **kw)
        except Exception as exc:  # open_clip raises RuntimeError/ValueError/KeyError for bad configs
            raise EncoderError(f"cannot build open_clip model {self.model_name}: {exc}",
                               model=self.model_name) from exc
        if self.weights_path is not None:
            self._load(open_clip, net, self.weights_path)
        net.eval()
        visual = net.visual
        if self.quantized:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                visual = torch.ao.quantization.quantize_dynamic(visual, {torch.nn.Linear}, dtype=torch.qint8)
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        visual = visual.to(device=device, dtype=dtype) if not self.quantized else visual
        self._visual = visual
        self._dtype = dtype
        self._preprocess = preprocess
        self._torch = torch
        self.dim = int(getattr(net.visual, "output_dim", 0) or self._probe_dim())
        del net  # the text tower is not needed
        self._fingerprint = weights_fingerprint(self.weights_path) if self.weights_path else None

    def _load(self, open_clip: Any, net: Any, path: Path) -> None:
        try:
            with offline():
                open_clip.load_checkpoint(net, str(path))
        except RuntimeError as exc:
            lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            first = " ".join(lines[:2])[:300] if lines else type(exc).__name__
            raise EncoderError(
                f"checkpoint {path} does not fit open_clip model {self.model_name} (another architecture?): {first}",
                model=self.model_name, path=str(path),
            ) from exc
        except (OSError, ValueError, KeyError, TypeError, StopIteration, AttributeError) as exc:
            raise EncoderError(f"cannot read checkpoint {path}: {exc}", model=self.model_name,
                               path=str(path)) from exc
        except Exception as exc:  # unpickling and safetensors errors have no common base
            raise EncoderError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}",
                               model=self.model_name, path=str(path)) from exc

    def quantized_copy(self) -> ClipEncoder:
        """A copy whose image tower's Linear layers are int8 (dynamic quantization, CPU only);
        the same weights otherwise, so the two can be compared."""
        import copy

        if self.device != "cpu" or self.precision != "fp32":
            raise EncoderError("int8 dynamic quantization needs a CPU fp32 encoder")
        q = copy.copy(self)
        q.__dict__.pop("_cache_key", None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q._visual = self._torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(self._visual), {self._torch.nn.Linear}, dtype=self._torch.qint8)
        q.quantized = True
        return q

    def _probe_dim(self) -> int:
        x = self._tensor([np.zeros((8, 8, 3), np.uint8)])
        with self._torch.inference_mode():
            return int(self._visual(x).shape[-1])

    def describe(self) -> dict[str, Any]:
        return {
            "encoder": "clip",
            "model": self.model_name,
            "weights": {"tag": self.pretrained if self.pretrained and not looks_like_path(self.pretrained) else None,
                        "path": str(self.weights_path) if self.weights_path else None,
                        "source": self.weights_source, "fingerprint": self._fingerprint},
            "dim": self.dim,
            "quantized": "int8-dynamic" if self.quantized else None,
            "preprocessing": f"clip-pad-square-v{CLIP_PREPROCESS_VERSION}/input-v{INPUT_VERSION}",
        }

    def provenance(self) -> dict[str, Any]:
        d = super().provenance()
        d["device"], d["precision"] = self.device, self.precision  # runtime facts, not part of cache keys
        return d

    def _tensor(self, images: list[np.ndarray]) -> Any:
        from PIL import Image

        tensors = []
        for im in images:
            rgb = pad_to_square(np.ascontiguousarray(im[:, :, ::-1]))
            tensors.append(self._preprocess(Image.fromarray(rgb)))
        x = self._torch.stack(tensors)
        if self.quantized:
            return x
        return x.to(device=self.device, dtype=self._dtype)

    def _embed_batch(self, images: list[np.ndarray]) -> np.ndarray:
        torch = self._torch
        x = self._tensor(images)
        with torch.inference_mode():
            feats = self._visual(x)
            if isinstance(feats, tuple):
                feats = feats[0]
            feats = feats.float()
            feats = feats / feats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return np.ascontiguousarray(feats.cpu().numpy(), dtype=np.float32)
