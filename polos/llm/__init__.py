"""Provider-neutral access to LLMs (``polos.llm``).

The agent loop speaks only the types of :mod:`polos.llm.types`; providers translate them to the
Anthropic Messages API, the OpenAI Responses and Chat Completions APIs, or anything registered with
:func:`register_provider`.
"""

from __future__ import annotations

from .errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConfigurationError,
    LLMConnectionError,
    LLMError,
    LLMOverloadedError,
    LLMRateLimitError,
)
from .pricing import cost_usd
from .provider import LLMProvider, get_provider, register_provider, registered_providers
from .retry import RetryPolicy
from .types import (
    ContentPart,
    LLMRequest,
    LLMResponse,
    LLMStreamEvent,
    LLMUsage,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamDone,
    TextDelta,
    TextPart,
    ToolCallStarted,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)

__all__ = [
    "ContentPart",
    "LLMAuthenticationError",
    "LLMBadRequestError",
    "LLMConfigurationError",
    "LLMConnectionError",
    "LLMError",
    "LLMOverloadedError",
    "LLMProvider",
    "LLMRateLimitError",
    "LLMRequest",
    "LLMResponse",
    "LLMStreamEvent",
    "LLMUsage",
    "Message",
    "ReasoningDelta",
    "ReasoningPart",
    "RetryPolicy",
    "StreamDone",
    "TextDelta",
    "TextPart",
    "ToolCallStarted",
    "ToolResultPart",
    "ToolSpec",
    "ToolUsePart",
    "cost_usd",
    "get_provider",
    "register_provider",
    "registered_providers",
]
