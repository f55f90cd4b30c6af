"""The ``anthropic`` provider: the Anthropic Messages API through the official ``anthropic`` SDK.

Tools, streaming, extended thinking (thinking blocks and their signatures are passed back
unchanged) and prompt caching: with ``request.cache`` the system prompt, the last tool and the last
block of the conversation carry ``cache_control`` markers, so each turn of an agent reads the
previous turns from the cache.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..errors import LLMConfigurationError
from ..types import (
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
    ToolUsePart,
)
from ._base import SDKProvider, check_tool_names, provider_kwargs

DEFAULT_MAX_TOKENS = 4096
MESSAGES_PATH = "/v1/messages"
NAME = "anthropic"
# A provider-neutral thinking effort as an Anthropic thinking budget.
EFFORT_BUDGETS = {"low": 2048, "medium": 8192, "high": 16384}
_CACHE = {"type": "ephemeral"}


class AnthropicProvider(SDKProvider):
    """Calls the Anthropic Messages API.

    Args:
        base_url: the API base URL (``ANTHROPIC_BASE_URL`` or the SDK default when ``None``).
        api_key: the API key (``ANTHROPIC_API_KEY`` when ``None``).
        retry_policy: how rate limits, overloads and connection errors are retried.
        timeout: seconds before one HTTP call times out.
    """

    name = "anthropic"
    api_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"

    def _make_client(self, *, api_key: str, base_url: str | None) -> Any:
        try:
            import anthropic
        except ImportError:  # pragma: no cover - depends on the environment
            raise LLMConfigurationError(
                "The anthropic provider needs the anthropic package: pip install 'polos[anthropic]'.",
                provider=self.name,
            ) from None
        return anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout)

    def _is_sdk_error(self, error: BaseException) -> bool:
        import anthropic

        return isinstance(error, anthropic.AnthropicError)

    # The bodies are plain JSON already, and plain JSON is all the neutral types need: posting
    # through the client's generic request method skips the SDK's per-call transformation of the
    # whole conversation and its response models (together several ms per call on long runs),
    # while keeping its authentication, headers, base URL, timeouts and error classes.

    async def _generate_once(self, client: Any, request: LLMRequest) -> LLMResponse:
        data = await client.post(MESSAGES_PATH, cast_to=object, body=build_params(request))
        return parse_message(data, request)

    async def _open_stream(self, client: Any, request: LLMRequest) -> Any:
        import anthropic

        body = {**build_params(request), "stream": True}
        return await client.post(
            MESSAGES_PATH, cast_to=object, body=body, stream=True, stream_cls=anthropic.AsyncStream[object]
        )

    async def _read_stream(self, stream: Any, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        assembler = _StreamAssembler(request)
        async for event in stream:
            for neutral in assembler.feed(event):
                yield neutral
        yield StreamDone(response=assembler.response())


# --- request ----------------------------------------------------------------------------------


def build_params(request: LLMRequest) -> dict[str, Any]:
    """The Messages API request body for ``request``."""
    thinking = _thinking(request.thinking)
    max_tokens = request.max_output_tokens or DEFAULT_MAX_TOKENS
    if thinking and thinking.get("type") == "enabled":
        # Anthropic requires the thinking budget to be below max_tokens.
        budget = int(thinking["budget_tokens"])
        if request.max_output_tokens is None:
            max_tokens = budget + DEFAULT_MAX_TOKENS
        elif max_tokens <= budget:
            raise LLMConfigurationError(
                f"The thinking budget ({budget} tokens) must be below max_output_tokens ({max_tokens}): "
                "raise max_output_tokens or lower budget_tokens.",
                provider="anthropic",
            )
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": max_tokens,
        "messages": _messages(request.messages),
    }
    system = request.system or ""
    if request.output_schema is not None:
        system = (system + "\n\n" if system else "") + schema_instruction(request)
    if system:
        block: dict[str, Any] = {"type": "text", "text": system}
        if request.cache:
            block["cache_control"] = dict(_CACHE)
        params["system"] = [block]
    if request.tools:
        tools = [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools]
        if request.cache:
            tools[-1]["cache_control"] = dict(_CACHE)
        params["tools"] = tools
    if request.cache and params["messages"]:
        _mark_conversation_prefix(params["messages"])
    if thinking:
        params["thinking"] = thinking
    if request.temperature is not None:
        params["temperature"] = request.temperature
    params.update(provider_kwargs(request, "anthropic"))
    check_tool_names(request, "anthropic")
    return params


def schema_instruction(request: LLMRequest) -> str:
    """The instruction asking for JSON matching ``request.output_schema``."""
    return (
        "Respond with only a JSON object (no prose, no code fences) that matches this JSON schema"
        + (f" named {request.output_schema_name}" if request.output_schema_name else "")
        + ":\n"
        + json.dumps(request.output_schema, sort_keys=True)
    )


def _thinking(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    if "type" in config:
        return dict(config)
    settings = {k: v for k, v in config.items() if k != "effort"}
    if "budget_tokens" not in settings:
        effort = config.get("effort")
        if effort not in EFFORT_BUDGETS:
            raise LLMConfigurationError(
                "Anthropic thinking needs a budget: thinking={'budget_tokens': 2048} (at least 1024), "
                "or an effort of 'low', 'medium' or 'high'.",
                provider="anthropic",
            )
        settings["budget_tokens"] = EFFORT_BUDGETS[effort]
    return {"type": "enabled", **settings}


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    converted = []
    for message in messages:
        blocks = [_block(part) for part in message.content if _sendable(part)]
        if blocks:  # the API rejects empty turns (and merges consecutive same-role ones)
            converted.append({"role": message.role, "content": blocks})
    return converted


def _sendable(part: ContentPart) -> bool:
    # Reasoning from another API (or without a signature) would be rejected by Anthropic.
    if not isinstance(part, ReasoningPart):
        return True
    return part.provider in (None, "anthropic") and (part.redacted or bool(part.signature))


def _block(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ToolUsePart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.input}
    if isinstance(part, ToolResultPart):
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": part.tool_use_id,
            "content": part.content,
        }
        if part.is_error:
            block["is_error"] = True
        return block
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.text}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}


def _mark_conversation_prefix(messages: list[dict[str, Any]]) -> None:
    # The last cacheable block of the conversation: next turn, everything up to it is a cache hit.
    for block in reversed(messages[-1]["content"]):
        if block["type"] not in ("thinking", "redacted_thinking") and not (
            block["type"] == "text" and not block["text"]
        ):
            block["cache_control"] = dict(_CACHE)
            return


# --- response ---------------------------------------------------------------------------------


def parse_message(data: dict[str, Any], request: LLMRequest) -> LLMResponse:
    """An :class:`LLMResponse` from a Messages API response body."""
    content = [part for part in (_part(block) for block in data.get("content") or []) if part]
    return LLMResponse(
        content=content,
        stop_reason=data.get("stop_reason") or "end_turn",
        usage=_usage(data.get("usage") or {}),
        model=data.get("model") or request.model,
        response_id=data.get("id"),
    )


def _part(block: dict[str, Any]) -> ContentPart | None:
    kind = block.get("type")
    if kind == "text":
        return TextPart(text=block.get("text") or "")
    if kind == "tool_use":
        return ToolUsePart(id=block["id"], name=block["name"], input=block.get("input") or {})
    if kind == "thinking":
        return ReasoningPart(text=block.get("thinking") or "", signature=block.get("signature"), provider=NAME)
    if kind == "redacted_thinking":
        return ReasoningPart(text=block.get("data") or "", redacted=True, provider=NAME)
    return None  # server tool blocks and future types are not part of the neutral model


def _usage(usage: dict[str, Any]) -> LLMUsage:
    return LLMUsage(
        input_tokens=usage.get("input_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        cache_read_tokens=usage.get("cache_read_input_tokens") or 0,
        cache_creation_tokens=usage.get("cache_creation_input_tokens") or 0,
    )


class _StreamAssembler:
    """Builds neutral events and the final response from raw Messages stream events."""

    def __init__(self, request: LLMRequest) -> None:
        self.request = request
        self.message: dict[str, Any] = {"content": []}
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_buffers: dict[int, str] = {}

    def feed(self, event: dict[str, Any]) -> list[LLMStreamEvent]:
        kind = event.get("type")
        if kind == "message_start":
            self.message = dict(event["message"])
            self.usage = dict(self.message.get("usage") or {})
        elif kind == "content_block_start":
            self.blocks[event["index"]] = dict(event["content_block"])
            self.json_buffers[event["index"]] = ""
        elif kind == "content_block_delta":
            return self._delta(event["index"], event["delta"])
        elif kind == "content_block_stop":
            return self._stop(event["index"])
        elif kind == "message_delta":
            self.message.update({k: v for k, v in (event.get("delta") or {}).items() if v})
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[LLMStreamEvent]:
        block = self.blocks[index]
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
            return [TextDelta(text=delta["text"])]
        if kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
            return [ReasoningDelta(text=delta["thinking"])]
        if kind == "signature_delta":
            block["signature"] = block.get("signature", "") or ""
            block["signature"] += delta["signature"]
        elif kind == "input_json_delta":
            self.json_buffers[index] += delta.get("partial_json") or ""
        return []

    def _stop(self, index: int) -> list[LLMStreamEvent]:
        block = self.blocks[index]
        if block.get("type") == "tool_use":
            raw = self.json_buffers.get(index) or ""
            if raw:
                try:
                    block["input"] = json.loads(raw)
                except ValueError:
                    block["input"] = {"__invalid_json__": raw}
            part = _part(block)
            if isinstance(part, ToolUsePart):
                return [ToolCallStarted(part=part)]
        return []

    def response(self) -> LLMResponse:
        data = dict(self.message)
        data["content"] = [self.blocks[i] for i in sorted(self.blocks)]
        data["usage"] = self.usage
        return parse_message(data, self.request)
