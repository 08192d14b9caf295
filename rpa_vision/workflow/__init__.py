"""Workflows: the model and library on disk, the recorder, the replayer and its decisions."""

from rpa_vision.workflow.model import (
    SCHEMA_VERSION,
    Anchor,
    InvalidWorkflowName,
    Prototype,
    ScreenInfo,
    StateSnapshot,
    Step,
    Target,
    Workflow,
    migrate,
    validate_name,
)
from rpa_vision.workflow.store import ImportRefusedError, WorkflowExistsError, WorkflowStore, WorkflowSummary

__all__ = [
    "SCHEMA_VERSION",
    "Anchor",
    "ImportRefusedError",
    "InvalidWorkflowName",
    "Prototype",
    "ScreenInfo",
    "StateSnapshot",
    "Step",
    "Target",
    "Workflow",
    "WorkflowExistsError",
    "WorkflowStore",
    "WorkflowSummary",
    "migrate",
    "validate_name",
]
