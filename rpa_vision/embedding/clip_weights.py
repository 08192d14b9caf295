"""Where CLIP weights come from, found without touching the network (and, for the default
model, without importing torch).

Resolution order for ``(model, pretrained)``:

1. ``pretrained`` is a path to a local file (``.pt``, ``.pth``, ``.bin``, ``.safetensors``);
2. ``RPA_VISION_HOME/models``: ``<model>/<tag>/<file>``, ``<model>_<tag>.<ext>``, ``<model>-<tag>.<ext>``,
   or the Hugging Face cache layout under ``models/open_clip`` (what ``rpa-vision models download clip``
   writes);
3. the local Hugging Face hub cache (``HF_HUB_CACHE``, ``HF_HOME/hub``, ``~/.cache/huggingface/hub``)
   and open_clip's URL cache (``~/.cache/clip``);
4. a download — only when explicitly asked for (``download_clip_weights``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rpa_vision.core.errors import WeightsUnavailableError
from rpa_vision.core.paths import Paths

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

# The default's hub location, so that the status line needs no torch import.
_KNOWN: dict[tuple[str, str], dict[str, str]] = {
    ("ViT-B-32", "laion2b_s34b_b79k"): {"hf_hub": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K/", "url": ""},
}


@dataclass(frozen=True)
class WeightsLocation:
    model: str
    pretrained: str
    path: Path | None  # None when not found locally
    source: str  # "file", "home", "hf-cache", "clip-cache" or "missing"
    hf_hub: str = ""
    url: str = ""

    @property
    def found(self) -> bool:
        return self.path is not None


def clean_tag(tag: str) -> str:
    return tag.lower().replace("-", "_")


def looks_like_path(pretrained: str) -> bool:
    return (os.sep in pretrained or "/" in pretrained or pretrained.lower().endswith(WEIGHT_SUFFIXES)
            or pretrained.startswith("~"))


def pretrained_cfg(model: str, tag: str) -> dict[str, str]:
    """The hub id / URL of a known ``(model, tag)``; {} when open_clip does not know it."""
    known = _KNOWN.get((model, clean_tag(tag)))
    if known is not None:
        return dict(known)
    try:
        from open_clip.pretrained import get_pretrained_cfg
    except ImportError:
        return {}
    cfg = get_pretrained_cfg(model, tag) or {}
    return {"hf_hub": str(cfg.get("hf_hub", "") or ""), "url": str(cfg.get("url", "") or ""),
            **({"file": str(cfg["file"])} if cfg.get("file") else {})}


def hf_cache_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        dirs.append(Path(os.environ["HUGGINGFACE_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    xdg = os.environ.get("XDG_CACHE_HOME")
    dirs.append((Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub")
    return [d.expanduser() for d in dirs]


def _in_hf_layout(cache: Path, hf_hub: str) -> Path | None:
    """A weights file for ``org/name/[file]`` in a hub cache folder (``models--org--name/snapshots``)."""
    parts = hf_hub.strip("/").split("/")
    if len(parts) < 2:
        return None
    repo = "/".join(parts[:2])
    filename = "/".join(parts[2:])
    snapshots = cache / ("models--" + repo.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return None
    names = [filename] if filename else []
    if filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    names += list(_HF_FILES)
    try:
        snaps = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for snap in snaps:
        for n in names:
            p = snap / n
            if p.is_file():
                return p
    return None


def _in_home(models: Path, model: str, tag: str) -> Path | None:
    if not models.is_dir():
        return None
    for folder in (models / model / tag, models / model / clean_tag(tag)):
        if folder.is_dir():
            for n in _HF_FILES:
                if (folder / n).is_file():
                    return folder / n
            for p in sorted(folder.iterdir()):
                if p.is_file() and p.suffix in WEIGHT_SUFFIXES:
                    return p
    for stem in (f"{model}_{tag}", f"{model}-{tag}", f"{model}_{clean_tag(tag)}"):
        for suf in WEIGHT_SUFFIXES:
            if (models / f"{stem}{suf}").is_file():
                return models / f"{stem}{suf}"
    return None


def resolve_clip_weights(model: str = DEFAULT_MODEL, pretrained: str = DEFAULT_PRETRAINED,
                         home: str | os.PathLike[str] | None = None) -> WeightsLocation:
    """Find weights locally; never downloads, never opens a network connection."""
    if looks_like_path(pretrained):
        p = Path(pretrained).expanduser()
        if p.is_file():
            return WeightsLocation(model, str(p), p, "file")
        return WeightsLocation(model, str(p), None, "missing")
    models = Paths.resolve(home).models
    found = _in_home(models, model, pretrained)
    if found is not None:
        return WeightsLocation(model, pretrained, found, "home")
    cfg = pretrained_cfg(model, pretrained)
    hf_hub, url = cfg.get("hf_hub", ""), cfg.get("url", "")
    if hf_hub:
        for cache in [models / "open_clip", *hf_cache_dirs()]:
            hit = _in_hf_layout(cache, hf_hub)
            if hit is not None:
                return WeightsLocation(model, pretrained, hit, "home" if cache.parent == models else "hf-cache",
                                       hf_hub, url)
    if url:
        for cache in (models / "open_clip", Path.home() / ".cache" / "clip"):
            p = cache / os.path.basename(url)
            if p.is_file():
                return WeightsLocation(model, pretrained, p, "clip-cache", hf_hub, url)
    return WeightsLocation(model, pretrained, None, "missing", hf_hub, url)


def how_to_get(model: str, pretrained: str, home: str | os.PathLike[str] | None = None) -> str:
    models = Paths.resolve(home).models
    if looks_like_path(pretrained):
        return f"no such weights file {pretrained}; pass an existing .pt/.safetensors file"
    return (f"weights for {model}/{pretrained} are not on this machine; run `rpa-vision models download clip` "
            f"(needs network) or `rpa-vision models import FILE`, place the file in {models / model / pretrained}/, "
            f"or pass pretrained=/path/to/file.safetensors; the offline 'builtin' encoder needs no weights")


def require_clip_weights(model: str, pretrained: str, home: str | os.PathLike[str] | None = None) -> WeightsLocation:
    loc = resolve_clip_weights(model, pretrained, home)
    if not loc.found:
        raise WeightsUnavailableError(how_to_get(model, pretrained, home), model=model, pretrained=pretrained)
    return loc


def download_clip_weights(model: str = DEFAULT_MODEL, pretrained: str = DEFAULT_PRETRAINED,
                          home: str | os.PathLike[str] | None = None) -> Path:
    """Download weights into ``RPA_VISION_HOME/models/open_clip`` (explicit user request only)."""
    loc = resolve_clip_weights(model, pretrained, home)
    if loc.found and loc.path is not None:
        return loc.path
    if looks_like_path(pretrained):
        raise WeightsUnavailableError(how_to_get(model, pretrained, home))
    try:
        from open_clip.pretrained import download_pretrained, get_pretrained_cfg
    except ImportError as exc:
        raise WeightsUnavailableError("open_clip_torch is not installed: pip install open_clip_torch") from exc
    cfg = get_pretrained_cfg(model, pretrained)
    if not cfg:
        raise WeightsUnavailableError(f"open_clip knows no pretrained tag {pretrained!r} for model {model!r}",
                                      model=model, pretrained=pretrained)
    paths = Paths.resolve(home).ensure()
    target = paths.models / "open_clip"
    saved = {k: os.environ.pop(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ}
    try:
        path = download_pretrained(cfg, cache_dir=str(target))
    except Exception as exc:  # network, hub and file errors all end the same way for the user
        raise WeightsUnavailableError(f"download of {model}/{pretrained} failed: {exc}", model=model) from exc
    finally:
        os.environ.update(saved)
    if not path:
        raise WeightsUnavailableError(f"download of {model}/{pretrained} returned no file", model=model)
    return Path(path)
