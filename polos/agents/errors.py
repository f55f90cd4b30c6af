"""Errors of agent runs (all under :class:`polos.exceptions.PolosError`)."""

from __future__ import annotations

from ..exceptions import PolosError, RetryableError


class AgentError(PolosError):
    """An agent run cannot go on (the message says why)."""

    code = "agent_error"


class HookFailedError(AgentError):
    """A lifecycle hook returned ``HookResult.fail(...)``."""

    code = "hook_failed"


class GuardrailError(AgentError):
    """Every attempt of the model was rejected by a guardrail (``guardrail_max_retries`` exhausted)."""

    code = "guardrail_failed"


class StructuredOutputError(AgentError):
    """The model's final answer did not match ``output_schema``, even after one corrective retry."""

    code = "structured_output_failed"


class LLMTemporarilyUnavailableError(RetryableError):
    """The provider stayed rate-limited, overloaded or unreachable after its own retries.

    The whole execution is retried later with backoff; recorded steps are not repeated.
    """

    code = "llm_unavailable"


__all__ = [
    "AgentError",
    "GuardrailError",
    "HookFailedError",
    "LLMTemporarilyUnavailableError",
    "StructuredOutputError",
]
