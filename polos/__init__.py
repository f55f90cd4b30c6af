"""Polos: durable workflows and agents (the SDK; runs on ``polos_django``).

Code written for the Polos Python SDK runs unchanged: the names below keep Polos' import paths.
"""

from __future__ import annotations

from .context import WorkflowContext
from .exceptions import (
    ConfigurationError,
    ExecutionFailedError,
    ExecutionNotFoundError,
    NonDeterminismError,
    NotResumableError,
    PayloadValidationError,
    PolosError,
    RetryableError,
    StepExecutionError,
    StepTimeoutError,
    WorkflowCancelled,
    WorkflowNotFoundError,
    WorkflowSuspended,
    WorkflowTimeoutError,
)
from .features import events
from .http_client import PolosClient
from .polos import Polos
from .queues import Queue, queue
from .state import WorkflowState
from .types import (
    AgentConfig,
    AgentResult,
    BatchEventPayload,
    BatchStepResult,
    BatchWorkflowInput,
    EventData,
    EventPayload,
    ExecutionHandle,
    SchedulePayload,
    Step,
    ToolCall,
    ToolCallFunction,
    ToolResult,
    Usage,
)
from .worker import Worker
from .workflow import Workflow, get_all_workflows, get_workflow, workflow

__all__ = [
    "AgentConfig",
    "AgentResult",
    "BatchEventPayload",
    "BatchStepResult",
    "BatchWorkflowInput",
    "ConfigurationError",
    "EventData",
    "EventPayload",
    "ExecutionFailedError",
    "ExecutionHandle",
    "ExecutionNotFoundError",
    "NonDeterminismError",
    "NotResumableError",
    "PayloadValidationError",
    "Polos",
    "PolosClient",
    "PolosError",
    "Queue",
    "RetryableError",
    "SchedulePayload",
    "Step",
    "StepExecutionError",
    "StepTimeoutError",
    "ToolCall",
    "ToolCallFunction",
    "ToolResult",
    "Usage",
    "Worker",
    "Workflow",
    "WorkflowCancelled",
    "WorkflowContext",
    "WorkflowNotFoundError",
    "WorkflowState",
    "WorkflowSuspended",
    "WorkflowTimeoutError",
    "events",
    "get_all_workflows",
    "get_workflow",
    "queue",
    "workflow",
]
