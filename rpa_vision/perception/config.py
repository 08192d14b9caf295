"""Settings of the Perceiver: one frozen, validated dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field

from rpa_vision.core.errors import ValidationError
from rpa_vision.fusion import FusionConfig
from rpa_vision.perception.layout import LayoutConfig
from rpa_vision.perception.window import WindowConfig


def _int_at_least(name: str, value: object, lo: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= lo):
        raise ValidationError(f"{name} must be an int >= {lo}, got {value!r}", field=name, value=value)


@dataclass(frozen=True)
class PerceiverConfig:
    """How a screen is perceived.

    - ``thumb_size``: the whole frame is embedded from a copy fitted inside this size.
    - ``state_regions``: how many regions (best scores, widgets and icons first) are embedded
      and pooled into the state vector; 0 keeps the state vector to the global embedding and
      leaves every region embedding lazy (the fastest cold path).
    - ``max_crop_px``: region crops longer than this are downscaled before hashing and
      embedding (encoders resize far below this anyway).
    - ``screen_cache``: how many recent screens are kept by frame key.
    - ``cache_entries`` / ``cache_bytes``: bounds of the embedding cache the Perceiver creates
      when it is not given one.
    - ``dirty_margin_px``: a region within this distance of a dirty rectangle is re-embedded.
    - ``state_window``: the state vector (global embedding and layout) is computed from the
      application window found in the frame (``rpa_vision.perception.window``: the largest
      framed rectangle), the whole frame when none is found or when this is False. A window
      moved, or shown on another screen size or desktop, keeps its state vector.
    - ``window`` / ``layout``: settings of the window finder and of the layout block.
    - ``fusion``: the fusion rules' weights; the state vector is
      ``rpa_vision.fusion.state_vector`` (dimension ``state_dim(encoder.dim, fusion)``).
    """

    thumb_size: tuple[int, int] = (640, 360)
    state_regions: int = 0
    max_crop_px: int = 448
    screen_cache: int = 8
    cache_entries: int = 20_000
    cache_bytes: int = 64 * 1024 * 1024
    dirty_margin_px: int = 2
    state_window: bool = True
    window: WindowConfig = field(default_factory=WindowConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)

    def __post_init__(self) -> None:
        tw, th = self.thumb_size
        if not (isinstance(tw, int) and isinstance(th, int) and 16 <= tw <= 4096 and 16 <= th <= 4096):
            raise ValidationError(f"thumb_size must be two ints in [16, 4096], got {self.thumb_size!r}",
                                  field="thumb_size")
        _int_at_least("state_regions", self.state_regions, 0)
        _int_at_least("max_crop_px", self.max_crop_px, 16)
        _int_at_least("screen_cache", self.screen_cache, 0)
        _int_at_least("cache_entries", self.cache_entries, 1)
        _int_at_least("cache_bytes", self.cache_bytes, 1024)
        _int_at_least("dirty_margin_px", self.dirty_margin_px, 0)
        if not isinstance(self.state_window, bool):
            raise ValidationError("state_window must be True or False", field="state_window")
        if not isinstance(self.window, WindowConfig):
            raise ValidationError("window must be a WindowConfig", field="window")
        if not isinstance(self.layout, LayoutConfig):
            raise ValidationError("layout must be a LayoutConfig", field="layout")
        if not isinstance(self.fusion, FusionConfig):
            raise ValidationError("fusion must be a FusionConfig", field="fusion")
