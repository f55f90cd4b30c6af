"""Public data types (``polos.types``)."""

from __future__ import annotations

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
    StreamEvent,
    ToolCall,
    ToolCallFunction,
    ToolResult,
    Usage,
)

__all__ = [
    "AgentConfig",
    "AgentResult",
    "BatchEventPayload",
    "BatchStepResult",
    "BatchWorkflowInput",
    "EventData",
    "EventPayload",
    "ExecutionHandle",
    "SchedulePayload",
    "Step",
    "StreamEvent",
    "ToolCall",
    "ToolCallFunction",
    "ToolResult",
    "Usage",
]
