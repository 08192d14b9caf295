"""Core types shared by every layer: geometry, frames, input events, errors, paths.

``core`` imports numpy and the standard library only.
"""

from rpa_vision.core.errors import (
    CaptureError,
    CorruptFileError,
    DependencyMissingError,
    DisplayUnavailableError,
    EncoderError,
    FailSafeTriggered,
    IndexError_,
    InputBackendError,
    MonitorNotFoundError,
    ProvenanceMismatchError,
    ReplayAborted,
    RpaVisionError,
    SchemaVersionError,
    StorageError,
    UnknownNameError,
    ValidationError,
    WeightsUnavailableError,
    WorkflowError,
    WorkflowNotFoundError,
)
from rpa_vision.core.frame import Channels, Frame, content_hash, frame_key, to_bgr, to_gray, validate_image
from rpa_vision.core.geometry import Box, ImageTransform, Monitor, Point, monitor_at, virtual_desktop

__all__ = [
    "Box",
    "CaptureError",
    "Channels",
    "CorruptFileError",
    "DependencyMissingError",
    "DisplayUnavailableError",
    "EncoderError",
    "FailSafeTriggered",
    "Frame",
    "ImageTransform",
    "IndexError_",
    "InputBackendError",
    "Monitor",
    "MonitorNotFoundError",
    "Point",
    "ProvenanceMismatchError",
    "ReplayAborted",
    "RpaVisionError",
    "SchemaVersionError",
    "StorageError",
    "UnknownNameError",
    "ValidationError",
    "WeightsUnavailableError",
    "WorkflowError",
    "WorkflowNotFoundError",
    "content_hash",
    "frame_key",
    "monitor_at",
    "to_bgr",
    "to_gray",
    "validate_image",
    "virtual_desktop",
]
