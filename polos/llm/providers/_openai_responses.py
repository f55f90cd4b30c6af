"""Neutral types to and from the OpenAI Responses API wire format."""

from __future__ import annotations

import json
from typing import Any

from ..errors import LLMError, LLMOverloadedError
from ..types import (
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
    ToolResultPart,
    ToolUsePart,
)
from ._base import provider_kwargs
from ._openai_chat import parse_arguments, reasoning_effort


def build_params(request: LLMRequest) -> dict[str, Any]:
    """The Responses API request body for ``request``."""
    items: list[dict[str, Any]] = []
    for message in request.messages:
        for part in message.content:
            if isinstance(part, TextPart):
                if message.role == "user":
                    content = [{"type": "input_text", "text": part.text}]
                    items.append({"role": "user", "content": content})
                else:
                    items.append({"role": "assistant", "content": part.text})
            elif isinstance(part, ToolUsePart):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": part.id,
                        "name": part.name,
                        "arguments": json.dumps(part.input),
                    }
                )
            elif isinstance(part, ToolResultPart):
                items.append({"type": "function_call_output", "call_id": part.tool_use_id, "output": part.content})
            elif part.provider == REASONING_PROVIDER and part.signature:
                # An OpenAI reasoning item, sent back so the model keeps its reasoning across tool calls.
                items.append(_reasoning_item(part.text, part.signature))
    params: dict[str, Any] = {"model": request.model, "input": items, "store": False}
    if request.system:
        params["instructions"] = request.system
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.input_schema,
                "strict": False,
            }
            for t in request.tools
        ]
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        params["max_output_tokens"] = request.max_output_tokens
    if request.output_schema is not None:
        params["text"] = {
            "format": {
                "type": "json_schema",
                "name": request.output_schema_name or "output",
                "schema": request.output_schema,
                "strict": False,
            }
        }
    if request.thinking:
        params["reasoning"] = {"effort": reasoning_effort(request.thinking), "summary": "auto"}
        # Nothing is stored at OpenAI (store=False): the reasoning comes back encrypted, to send again.
        params["include"] = ["reasoning.encrypted_content"]
    params.update(provider_kwargs(request, "openai"))
    return params


REASONING_PROVIDER = "openai"


def _signature(item: dict[str, Any]) -> str | None:
    # The id and encrypted content of a reasoning item, kept in the part's signature.
    if not item.get("encrypted_content"):
        return None
    return json.dumps({"id": item.get("id"), "encrypted_content": item["encrypted_content"]})


def _reasoning_item(text: str, signature: str) -> dict[str, Any]:
    try:
        saved = json.loads(signature)
    except ValueError:
        saved = {}
    item: dict[str, Any] = {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
        "encrypted_content": saved.get("encrypted_content"),
    }
    if saved.get("id"):
        item["id"] = saved["id"]
    return item


def parse_usage(usage: dict[str, Any] | None) -> LLMUsage:
    """Neutral usage from a Responses ``usage`` object (cached tokens split out)."""
    if not usage:
        return LLMUsage()
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
    return LLMUsage(
        input_tokens=max(0, (usage.get("input_tokens") or 0) - cached),
        output_tokens=usage.get("output_tokens") or 0,
        cache_read_tokens=cached,
    )


def parse_response(data: dict[str, Any], request: LLMRequest) -> LLMResponse:
    """An :class:`LLMResponse` from a Responses API response body."""
    content: list[ContentPart] = []
    refused = False
    for item in data.get("output") or []:
        kind = item.get("type")
        if kind == "message":
            for piece in item.get("content") or []:
                if piece.get("type") == "output_text":
                    content.append(TextPart(text=piece.get("text") or ""))
                elif piece.get("type") == "refusal":
                    refused = True
                    content.append(TextPart(text=piece.get("refusal") or ""))
        elif kind == "function_call":
            content.append(
                ToolUsePart(
                    id=item.get("call_id") or item.get("id") or "",
                    name=item.get("name") or "",
                    input=parse_arguments(item.get("arguments")),
                )
            )
        elif kind == "reasoning":
            summary = "".join(s.get("text") or "" for s in item.get("summary") or [])
            signature = _signature(item)
            if summary or signature:
                content.append(ReasoningPart(text=summary, signature=signature, provider=REASONING_PROVIDER))
    incomplete = (data.get("incomplete_details") or {}).get("reason")
    if any(isinstance(p, ToolUsePart) for p in content):
        stop = "tool_use"
    elif incomplete == "max_output_tokens":
        stop = "max_tokens"
    elif refused or incomplete == "content_filter":
        stop = "refusal"
    else:
        stop = "end_turn"
    return LLMResponse(
        content=content,
        stop_reason=stop,
        usage=parse_usage(data.get("usage")),
        model=data.get("model") or request.model,
        response_id=data.get("id"),
    )


class ResponsesStreamAssembler:
    """Builds neutral events and the final response from Responses stream events."""

    def __init__(self, request: LLMRequest) -> None:
        self.request = request
        self.items: list[dict[str, Any]] = []
        self.final: dict[str, Any] | None = None

    def feed(self, event: dict[str, Any]) -> list[LLMStreamEvent]:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            return [TextDelta(text=event.get("delta") or "")]
        if kind == "response.reasoning_summary_text.delta":
            return [ReasoningDelta(text=event.get("delta") or "")]
        if kind == "response.output_item.done":
            item = event.get("item") or {}
            self.items.append(item)
            if item.get("type") == "function_call":
                part = ToolUsePart(
                    id=item.get("call_id") or item.get("id") or "",
                    name=item.get("name") or "",
                    input=parse_arguments(item.get("arguments")),
                )
                return [ToolCallStarted(part=part)]
        elif kind in ("response.completed", "response.incomplete"):
            self.final = event.get("response")
        elif kind == "response.failed":
            error = ((event.get("response") or {}).get("error")) or {}
            raise LLMOverloadedError(
                f"openai response failed: {error.get('message') or 'unknown error'}",
                provider="openai",
            )
        elif kind == "error":
            raise LLMError(f"openai stream error: {event.get('message') or 'unknown error'}", provider="openai")
        return []

    def finish(self) -> list[LLMStreamEvent]:
        data = dict(self.final or {})
        if not data.get("output"):
            data["output"] = self.items
        return [StreamDone(response=parse_response(data, self.request))]
