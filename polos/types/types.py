"""Pydantic models exchanged between workflows, clients and the runtime."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..client import ClientLike


class ExecutionHandle(BaseModel):
    """A reference to an execution, returned by every ``invoke``.

    Attributes:
        id: the execution id.
        workflow_id: the workflow (or agent) id.
        root_workflow_id / root_execution_id: the top of the invocation tree; they name the event
            topic ``workflow/{root_workflow_id}/{root_execution_id}``.
        step_key: the parent's step key when invoked from a workflow.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    workflow_id: str
    created_at: str | None = None
    parent_execution_id: str | None = None
    root_workflow_id: str | None = None
    root_execution_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    step_key: str | None = None

    @property
    def topic(self) -> str:
        """The event topic of this execution's tree."""
        return f"workflow/{self.root_workflow_id or self.workflow_id}/{self.root_execution_id or self.id}"

    async def get(self, client: ClientLike) -> dict[str, Any]:
        """Fetch the execution (status, result, error, ...) as a dict."""
        return await client.get_execution(self.id)

    async def cancel(self, client: ClientLike) -> bool:
        """Cancel the execution (and its children); ``False`` if it had already finished."""
        return await client.cancel_execution(self.id)


class BatchWorkflowInput(BaseModel):
    """One item of a batch invoke: a workflow id and its payload."""

    id: str
    payload: Any | None = None
    initial_state: dict[str, Any] | BaseModel | None = None
    run_timeout_seconds: int | None = None


class BatchStepResult(BaseModel):
    """The outcome of one item of ``batch_invoke_and_wait``, in request order."""

    model_config = ConfigDict(extra="ignore")

    workflow_id: str
    success: bool
    result: Any | None = None
    error: str | None = None
    execution_id: str | None = None


class EventData(BaseModel):
    """An event to publish: its type and data."""

    event_type: str | None = None
    data: Any = None


class EventPayload(BaseModel):
    """An event as delivered to ``wait_for_event`` and to event-triggered workflows."""

    model_config = ConfigDict(extra="ignore")

    id: str
    sequence_id: int
    topic: str
    event_type: str | None = None
    data: Any = None
    created_at: str | None = None


class BatchEventPayload(BaseModel):
    """The payload of an event-triggered workflow: the events of one batch, in order."""

    events: list[EventPayload] = Field(default_factory=list)


class StreamEvent(BaseModel):
    """An event read from a stream (``events.stream_topic`` / ``stream_workflow``)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    sequence_id: int
    topic: str
    event_type: str | None = None
    data: Any = None
    created_at: str | None = None


class SchedulePayload(BaseModel):
    """The payload of a scheduled run."""

    timestamp: dt.datetime
    last_timestamp: dt.datetime | None = None
    timezone: str = "UTC"
    schedule_id: str
    key: str = "global"
    upcoming: dt.datetime | None = None


class Usage(BaseModel):
    """Token usage of LLM calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


class ToolCallFunction(BaseModel):
    """The function part of a tool call: name and JSON arguments."""

    name: str
    arguments: str


class ToolCall(BaseModel):
    """A tool call requested by a model."""

    id: str
    type: str = "function"
    function: ToolCallFunction
    call_id: str | None = None


class ToolResult(BaseModel):
    """The result of one tool call."""

    tool_name: str
    status: str
    result: Any | None = None
    result_schema: str | None = None
    error: str | None = None
    tool_call_id: str
    tool_call_call_id: str


class Step(BaseModel):
    """One step (LLM call plus its tool calls) of an agent run."""

    step: int
    content: Any | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    usage: Usage | None = None
    raw_output: Any | None = None


class AgentResult(BaseModel):
    """The final result of an agent run."""

    agent_run_id: str
    conversation_id: str | None = None
    result: Any | None = None
    result_schema: str | None = None
    tool_results: list[ToolResult] = Field(default_factory=list)
    total_steps: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None


class AgentConfig(BaseModel):
    """The LLM configuration of an agent."""

    name: str
    provider: str
    model: str
    tools: list[dict[str, Any]] = Field(default_factory=list)
    system_prompt: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    provider_base_url: str | None = None
    provider_llm_api: str | None = None
    provider_kwargs: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    output_schema_name: str | None = None
    guardrail_max_retries: int | None = None
