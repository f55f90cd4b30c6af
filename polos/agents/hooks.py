"""Lifecycle hooks and guardrails of agents.

A hook is ``(ctx, hook_context: HookContext) -> HookResult`` (sync or async).  The agent runs each
hook as a durable step, so a hook's decision is made once and replayed.  A guardrail is
``(ctx, guardrail_context: GuardrailContext) -> GuardrailResult``, or a plain-language rule (a
string) that the agent's own model checks; it runs after every LLM call, before any tool runs, and
a failure makes the model try again (``guardrail_max_retries`` times) with the reason as feedback.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import WorkflowDefinitionError
from ..types import AgentConfig, Step, ToolCall

HookFunction = Callable[..., Any]


class HookAction(enum.Enum):
    """What the agent does after a hook or guardrail: go on, or stop with an error."""

    CONTINUE = "continue"
    FAIL = "fail"


class HookContext(BaseModel):
    """What a hook sees.

    Attributes:
        workflow_id: the agent's id.
        session_id / user_id: of the run.
        agent_config: the LLM configuration (not set for ``on_start``/``on_end``).
        steps: the agent steps completed so far.
        current_tool: the tool being called (tool hooks).
        current_payload: the tool input (tool hooks), ``{"step": n, "messages": [...]}`` (step hooks) or
            the agent payload (``on_start``).
        current_output: the tool result (``on_tool_end``), the step (``on_agent_step_end``) or the
            agent result (``on_end``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    workflow_id: str
    session_id: str | None = None
    user_id: str | None = None
    agent_config: AgentConfig | None = None
    steps: list[Step] = Field(default_factory=list)
    current_tool: str | None = None
    current_payload: Any | None = None
    current_output: Any | None = None


class HookResult(BaseModel):
    """A hook's decision, optionally with changes to apply.

    ``modified_payload`` replaces (tool hooks: updates) the input; ``modified_output`` replaces the
    output (tool result, final result).
    """

    model_config = ConfigDict(use_enum_values=False)

    action: HookAction = HookAction.CONTINUE
    modified_payload: dict[str, Any] | None = None
    modified_output: Any | None = None
    error_message: str | None = None

    @classmethod
    def continue_with(cls, **modifications: Any) -> HookResult:
        """Go on, applying ``modified_payload`` / ``modified_output`` when given."""
        return cls(action=HookAction.CONTINUE, **modifications)

    @classmethod
    def fail(cls, message: str) -> HookResult:
        """Stop the agent with ``message``."""
        return cls(action=HookAction.FAIL, error_message=message)


class GuardrailContext(BaseModel):
    """What a guardrail sees: the model's reply (text and tool calls) and the run so far."""

    content: Any | None = None
    tool_calls: list[ToolCall] | None = None
    agent_workflow_id: str | None = ""
    agent_run_id: str | None = ""
    session_id: str | None = None
    user_id: str | None = None
    llm_config: AgentConfig = Field(default_factory=lambda: AgentConfig(name="", provider="", model=""))
    steps: list[Step] = Field(default_factory=list)


class GuardrailResult(HookResult):
    """A guardrail's decision.

    ``modified_content`` replaces the reply text; ``modified_tool_calls`` replaces the tool calls
    (an empty list runs no tool).  ``fail(reason)`` makes the model try again with ``reason``.
    """

    modified_content: Any | None = None
    modified_tool_calls: list[ToolCall] | None = None

    @classmethod
    def continue_with(cls, **modifications: Any) -> GuardrailResult:
        """Accept the reply, applying ``modified_content`` / ``modified_tool_calls`` when given."""
        return cls(action=HookAction.CONTINUE, **modifications)

    @classmethod
    def fail(cls, message: str) -> GuardrailResult:
        """Reject the reply; the model is asked again with ``message`` as feedback."""
        return cls(action=HookAction.FAIL, error_message=message)


def _check_two_params(func: Callable[..., Any], what: str) -> None:
    if not callable(func):
        raise WorkflowDefinitionError(f"a {what} must be callable, got {type(func).__name__}")
    try:
        params = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        return
    if len(params) != 2:
        name = getattr(func, "__name__", repr(func))
        raise WorkflowDefinitionError(
            f"{what} {name!r} must take exactly two parameters (ctx, {what}_context), it takes {len(params)}"
        )


def hook(func: HookFunction | None = None) -> Any:
    """Mark ``(ctx, hook_context) -> HookResult`` as a lifecycle hook (checks its signature)."""

    def decorate(f: HookFunction) -> HookFunction:
        _check_two_params(f, "hook")
        return f

    return decorate(func) if func is not None else decorate


def guardrail(func: HookFunction | None = None) -> Any:
    """Mark ``(ctx, guardrail_context) -> GuardrailResult`` as a guardrail (checks its signature)."""

    def decorate(f: HookFunction) -> HookFunction:
        _check_two_params(f, "guardrail")
        return f

    return decorate(func) if func is not None else decorate


def normalize_hooks(value: Any, name: str, agent_id: str) -> list[HookFunction]:
    """A list of hooks from ``None``, one hook or a list, each checked."""
    hooks = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    for item in hooks:
        if not callable(item):
            raise WorkflowDefinitionError(f"agent {agent_id!r}: {name} must be callable, got {item!r}")
        _check_two_params(item, "hook")
    return hooks


def normalize_guardrails(value: Any, agent_id: str) -> list[HookFunction | str]:
    """A list of guardrails (callables or non-empty strings) from ``None``, one or a list."""
    items = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    for item in items:
        if isinstance(item, str):
            if not item.strip():
                raise WorkflowDefinitionError(f"agent {agent_id!r}: a string guardrail must not be empty")
            continue
        if not callable(item):
            raise WorkflowDefinitionError(
                f"agent {agent_id!r}: a guardrail is a function (ctx, guardrail_context) or a string rule, "
                f"got {type(item).__name__}"
            )
        _check_two_params(item, "guardrail")
    return items


def coerce_result(value: Any, cls: type[HookResult], what: str) -> HookResult:
    """The hook's return value as ``cls``: ``None`` continues, a dict is validated."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, HookResult):
        return cls.model_validate(value.model_dump())
    if isinstance(value, dict):
        return cls.model_validate(value)
    return cls.fail(f"{what} returned {type(value).__name__}; return {cls.__name__}.continue_with() or .fail(msg)")


__all__ = [
    "GuardrailContext",
    "GuardrailResult",
    "HookAction",
    "HookContext",
    "HookResult",
    "guardrail",
    "hook",
]
