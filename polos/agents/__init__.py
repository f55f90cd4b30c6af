"""Agents: durable LLM tool loops (``Agent``), their hooks, guardrails and stop conditions."""

from __future__ import annotations

from .agent import Agent, AgentRunConfig, get_agent
from .errors import AgentError, GuardrailError, HookFailedError, LLMTemporarilyUnavailableError, StructuredOutputError
from .hooks import GuardrailContext, GuardrailResult, HookAction, HookContext, HookResult, guardrail, hook
from .stop_conditions import (
    ExecutedToolConfig,
    HasTextConfig,
    MaxStepsConfig,
    MaxTokensConfig,
    StopConditionContext,
    executed_tool,
    has_text,
    max_steps,
    max_tokens,
    stop_condition,
)
from .stream import AgentStreamHandle, StreamResult

__all__ = [
    "Agent",
    "AgentError",
    "AgentRunConfig",
    "AgentStreamHandle",
    "ExecutedToolConfig",
    "GuardrailContext",
    "GuardrailError",
    "GuardrailResult",
    "HasTextConfig",
    "HookAction",
    "HookContext",
    "HookFailedError",
    "HookResult",
    "LLMTemporarilyUnavailableError",
    "MaxStepsConfig",
    "MaxTokensConfig",
    "StopConditionContext",
    "StreamResult",
    "StructuredOutputError",
    "executed_tool",
    "get_agent",
    "guardrail",
    "has_text",
    "hook",
    "max_steps",
    "max_tokens",
    "stop_condition",
]
