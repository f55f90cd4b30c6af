"""A scripted model for unit tests: an :class:`~polos.llm.LLMProvider` that never touches a network.

Example::

    from polos.testing import Reply, ScriptedModel

    model = ScriptedModel([
        Reply(tool_calls=[("get_weather", {"city": "Paris"})]),
        "It is sunny in Paris.",
    ])
    agent = Agent(id="weather", provider=model, model="scripted", tools=[get_weather])
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from polos.llm.errors import LLMError
from polos.llm.provider import LLMProvider
from polos.llm.types import (
    ContentPart,
    LLMRequest,
    LLMResponse,
    LLMStreamEvent,
    LLMUsage,
    ReasoningDelta,
    ReasoningPart,
    StreamDone,
    TextDelta,
    TextPart,
    ToolCallStarted,
    ToolUsePart,
)

ToolCallSpec = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str] | ToolUsePart
"""``(name, input)``, ``(name, input, id)`` or a ready :class:`ToolUsePart`."""


class ScriptExhaustedError(LLMError):
    """A scripted model or fake server was asked for more replies than its script holds."""

    code = "llm_script_exhausted"


@dataclass
class Reply:
    """One scripted model reply, in provider-neutral terms.

    Attributes:
        text: the reply text (``None`` for none).
        tool_calls: tool calls as ``(name, input)`` or ``(name, input, id)`` tuples (ids are
            generated when not given).
        reasoning: reasoning / extended-thinking text shown before the reply.
        usage: the usage to report; estimated from the request and reply sizes when ``None``.
        stop_reason: defaults to ``"tool_use"`` when there are tool calls, else ``"end_turn"``.
        error: ``(http_status, message)`` makes the fake LLM server answer with that HTTP error
            instead (e.g. ``(429, "slow down")``); :class:`ScriptedModel` raises the matching
            :mod:`polos.llm.errors` error.
        retry_after: the ``Retry-After`` seconds sent with an ``error`` reply.
        delay: seconds to wait before answering (both the scripted model and the fake server).
    """

    text: str | None = None
    tool_calls: Sequence[ToolCallSpec] = field(default_factory=list)
    reasoning: str | None = None
    usage: LLMUsage | None = None
    stop_reason: str | None = None
    error: tuple[int, str] | None = None
    retry_after: float | None = None
    delay: float = 0.0

    def to_response(self, request: LLMRequest | None, *, model: str, call_index: int) -> LLMResponse:
        """The :class:`LLMResponse` this reply describes, as call number ``call_index``."""
        content: list[ContentPart] = []
        if self.reasoning is not None:
            content.append(ReasoningPart(text=self.reasoning, signature=f"sig-{call_index}"))
        if self.text is not None:
            content.append(TextPart(text=self.text))
        calls = self.tool_use_parts(call_index)
        content.extend(calls)
        usage = self.usage or LLMUsage(
            input_tokens=estimate_tokens(request.model_dump_json()) if request else 0,
            output_tokens=estimate_tokens(
                (self.text or "") + (self.reasoning or "") + "".join(str(c.input) for c in calls)
            ),
        )
        stop = self.stop_reason or ("tool_use" if calls else "end_turn")
        return LLMResponse(
            content=content,
            stop_reason=stop,
            usage=usage,
            model=model,
            response_id=f"scripted-{call_index}",
        )

    def tool_use_parts(self, call_index: int) -> list[ToolUsePart]:
        """The reply's tool calls, with ids unique per call and position."""
        parts: list[ToolUsePart] = []
        for position, spec in enumerate(self.tool_calls):
            if isinstance(spec, ToolUsePart):
                parts.append(spec)
                continue
            name, tool_input = spec[0], spec[1]
            call_id = spec[2] if len(spec) > 2 else f"call_{call_index}_{position}"
            parts.append(ToolUsePart(id=call_id, name=name, input=dict(tool_input)))
        return parts


Script = Sequence[Reply | str] | Callable[[LLMRequest], Reply | str | Awaitable[Reply | str]]


def as_reply(value: Reply | str) -> Reply:
    """A ``Reply`` from a reply or a plain text answer."""
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(text=value)
    raise TypeError(f"A scripted reply must be a Reply or a str, not {type(value).__name__}.")


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token), for usage figures in tests."""
    return max(1, len(text) // 4) if text else 0


class ScriptedModel(LLMProvider):
    """An :class:`LLMProvider` whose replies come from a list or a function.

    Args:
        replies: a list of replies used in order (a ``str`` is a text-only reply), or a function of
            the :class:`LLMRequest` returning the reply (it may be ``async``).
        name: the provider name reported in traces and rate-limit keys.

    Attributes:
        requests: every request received, in order.
    """

    def __init__(self, replies: Script, *, name: str = "scripted") -> None:
        self.name = name
        self._script = replies if callable(replies) else [as_reply(r) for r in replies]
        self._lock = threading.Lock()
        self.requests: list[LLMRequest] = []

    @property
    def calls(self) -> int:
        """How many requests were answered so far."""
        return len(self.requests)

    @property
    def remaining(self) -> int | None:
        """Unused list replies (``None`` for a function script)."""
        if callable(self._script):
            return None
        return max(0, len(self._script) - len(self.requests))

    async def _next(self, request: LLMRequest) -> tuple[Reply, int]:
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
        if callable(self._script):
            value = self._script(request)
            if inspect.isawaitable(value):
                value = await value
            reply = as_reply(value)
        else:
            if index >= len(self._script):
                raise ScriptExhaustedError(
                    f"ScriptedModel has {len(self._script)} replies but was called "
                    f"{index + 1} times; add replies to the script.",
                    provider=self.name,
                )
            reply = self._script[index]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error is not None:
            raise _error_for(reply, self.name)
        return reply, index

    async def generate(self, request: LLMRequest) -> LLMResponse:
        reply, index = await self._next(request)
        return reply.to_response(request, model=request.model, call_index=index)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        reply, index = await self._next(request)
        response = reply.to_response(request, model=request.model, call_index=index)
        if reply.reasoning:
            for chunk in split_chunks(reply.reasoning):
                yield ReasoningDelta(text=chunk)
                await asyncio.sleep(0)
        if reply.text:
            for chunk in split_chunks(reply.text):
                yield TextDelta(text=chunk)
                await asyncio.sleep(0)
        for call in response.tool_calls:
            yield ToolCallStarted(part=call)
        yield StreamDone(response=response)


def split_chunks(text: str, size: int = 3) -> list[str]:
    """``text`` cut after every ``size`` words (whitespace kept), as streamed chunks."""
    words = text.split(" ")
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [c + " " for c in chunks[:-1]] + chunks[-1:]


def _error_for(reply: Reply, provider: str) -> LLMError:
    from polos.llm.errors import (
        LLMAuthenticationError,
        LLMBadRequestError,
        LLMOverloadedError,
        LLMRateLimitError,
    )

    assert reply.error is not None
    status, message = reply.error
    if status == 429:
        return LLMRateLimitError(message, retry_after=reply.retry_after, provider=provider)
    if status in (401, 403):
        return LLMAuthenticationError(message, provider=provider, status_code=status)
    if status >= 500:
        return LLMOverloadedError(message, provider=provider, status_code=status)
    return LLMBadRequestError(message, provider=provider, status_code=status)


__all__ = ["Reply", "ScriptExhaustedError", "ScriptedModel"]
