"""The provider-neutral LLM vocabulary: messages, requests, responses and stream events.

Every provider translates these models to and from its own wire format, so the agent loop (and
anything stored in an execution's history) never depends on a vendor's SDK types.  All models are
pydantic v2 models and serialise to plain JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# --- content parts ---------------------------------------------------------------------------


class TextPart(BaseModel):
    """Plain text written by the user or the model."""

    type: Literal["text"] = "text"
    text: str


class ReasoningPart(BaseModel):
    """Model reasoning (Anthropic extended thinking, OpenAI reasoning summaries).

    Passed back unchanged on the next turn: Anthropic checks the ``signature`` of thinking blocks, and
    ``redacted`` blocks carry their opaque payload in ``text``.  ``provider`` says which API produced
    it (``None`` counts as Anthropic): reasoning is only sent back to the API it came from.
    """

    type: Literal["reasoning"] = "reasoning"
    text: str
    signature: str | None = None
    redacted: bool = False
    provider: str | None = None


class ToolUsePart(BaseModel):
    """A tool call requested by the model."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ToolResultPart(BaseModel):
    """The result of a tool call, sent back to the model in a ``user`` message."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


ContentPart = Annotated[TextPart | ReasoningPart | ToolUsePart | ToolResultPart, Field(discriminator="type")]


class Message(BaseModel):
    """One conversation turn.  Tool results travel in a ``user`` message."""

    role: Literal["user", "assistant"]
    content: list[ContentPart]

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message holding one text part."""
        return cls(role="user", content=[TextPart(text=text)])

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant message holding one text part."""
        return cls(role="assistant", content=[TextPart(text=text)])

    @property
    def text(self) -> str:
        """The message's text parts joined together."""
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class ToolSpec(BaseModel):
    """A tool offered to the model: its name, description and JSON schema of its input."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


# --- requests and responses -------------------------------------------------------------------


class LLMRequest(BaseModel):
    """One call to a model.

    Attributes:
        model: the provider's model name (``claude-sonnet-4-5``, ``gpt-4o``...).
        messages: the conversation so far, oldest first.
        system: the system prompt.
        tools: the tools the model may call.
        temperature: sampling temperature; the provider's default when ``None``.
        max_output_tokens: the cap on generated tokens; a provider default when ``None``.
        output_schema: a JSON schema the reply text must satisfy (structured output).
        output_schema_name: the schema's name, where the provider wants one.
        thinking: extended-thinking settings, e.g. ``{"budget_tokens": 2048}`` (Anthropic) or
            ``{"effort": "medium"}`` (OpenAI reasoning models).
        cache: add prompt-caching markers where the provider supports them.
        metadata: free-form values for providers and tracing (never sent as prompt text).
    """

    model_config = ConfigDict(protected_namespaces=())

    model: str
    messages: list[Message]
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    temperature: float | None = None
    max_output_tokens: int | None = None
    output_schema: dict[str, Any] | None = None
    output_schema_name: str | None = None
    thinking: dict[str, Any] | None = None
    cache: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)


class LLMUsage(BaseModel):
    """Token counts of one call (or, summed with ``+``, of several).

    ``input_tokens`` counts uncached input only; cached input is in ``cache_read_tokens`` and
    ``cache_creation_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def __add__(self, other: LLMUsage) -> LLMUsage:
        if not isinstance(other, LLMUsage):
            return NotImplemented
        return LLMUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """All input (cached or not) plus output tokens."""
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens


class LLMResponse(BaseModel):
    """A model's complete reply.

    Attributes:
        content: the reply's parts in order (reasoning, text, tool calls).
        stop_reason: ``"end_turn"``, ``"tool_use"``, ``"max_tokens"``, ``"refusal"`` or another
            provider-specific reason, normalised where a neutral name exists.
        usage: the call's token counts.
        model: the model that answered (as the provider reports it).
        response_id: the provider's id for the response, when it gives one.
        cost_usd: the call's price in US dollars, when the model's price is known.
        retries: the failed attempts retried before this response (rate limits, overloads,
            connection errors), each ``{attempt, error, status_code, message, wait_seconds}``.
    """

    model_config = ConfigDict(protected_namespaces=())

    content: list[ContentPart]
    stop_reason: str
    usage: LLMUsage = Field(default_factory=LLMUsage)
    model: str
    response_id: str | None = None
    cost_usd: float | None = None
    retries: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The reply's text parts joined together."""
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    @property
    def tool_calls(self) -> list[ToolUsePart]:
        """The tool calls the model asked for, in order."""
        return [part for part in self.content if isinstance(part, ToolUsePart)]

    @property
    def reasoning(self) -> str:
        """The reply's (non-redacted) reasoning text joined together."""
        return "".join(part.text for part in self.content if isinstance(part, ReasoningPart) and not part.redacted)

    def to_message(self) -> Message:
        """The reply as an assistant message, ready to append to the conversation."""
        return Message(role="assistant", content=list(self.content))


# --- stream events ----------------------------------------------------------------------------


class TextDelta(BaseModel):
    """A piece of reply text, as it arrives."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ReasoningDelta(BaseModel):
    """A piece of reasoning text, as it arrives."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ToolCallStarted(BaseModel):
    """A tool call, emitted once its input is complete."""

    type: Literal["tool_call"] = "tool_call"
    part: ToolUsePart


class StreamDone(BaseModel):
    """The last event of every stream: the complete response."""

    type: Literal["done"] = "done"
    response: LLMResponse


LLMStreamEvent = Annotated[TextDelta | ReasoningDelta | ToolCallStarted | StreamDone, Field(discriminator="type")]

__all__ = [
    "ContentPart",
    "LLMRequest",
    "LLMResponse",
    "LLMStreamEvent",
    "LLMUsage",
    "Message",
    "ReasoningDelta",
    "ReasoningPart",
    "StreamDone",
    "TextDelta",
    "TextPart",
    "ToolCallStarted",
    "ToolResultPart",
    "ToolSpec",
    "ToolUsePart",
]
