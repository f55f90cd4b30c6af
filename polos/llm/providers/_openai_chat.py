"""Neutral types to and from the OpenAI Chat Completions wire format."""

from __future__ import annotations

import json
from typing import Any

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

FINISH_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def build_params(request: LLMRequest, *, official: bool = True) -> dict[str, Any]:
    """The Chat Completions request body for ``request``."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "user":
            texts: list[str] = []
            for part in message.content:
                if isinstance(part, ToolResultPart):
                    messages.append({"role": "tool", "tool_call_id": part.tool_use_id, "content": part.content})
                elif isinstance(part, TextPart):
                    texts.append(part.text)
            if texts:
                messages.append({"role": "user", "content": "\n".join(texts)})
            continue
        text = "".join(p.text for p in message.content if isinstance(p, TextPart))
        entry: dict[str, Any] = {"role": "assistant", "content": text or None}
        if not text and not any(isinstance(p, ToolUsePart) for p in message.content):
            continue  # nothing to send (e.g. reasoning only)
        calls = [p for p in message.content if isinstance(p, ToolUsePart)]
        if calls:
            entry["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.input)},
                }
                for call in calls
            ]
        messages.append(entry)
    params: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }
            for t in request.tools
        ]
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        # Compatible servers often know only the older max_tokens name.
        key = "max_completion_tokens" if official else "max_tokens"
        params[key] = request.max_output_tokens
    if request.output_schema is not None:
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.output_schema_name or "output",
                "schema": request.output_schema,
                "strict": False,
            },
        }
    if request.thinking and ("effort" in request.thinking or official):
        params["reasoning_effort"] = reasoning_effort(request.thinking)
    params.update(provider_kwargs(request, "openai"))
    return params


def reasoning_effort(thinking: dict[str, Any]) -> str:
    """OpenAI's reasoning effort for neutral ``thinking`` settings (a token budget maps to a level)."""
    if "effort" in thinking:
        return str(thinking["effort"])
    budget = int(thinking.get("budget_tokens") or 0)
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """Tool-call arguments; invalid JSON is kept under ``__invalid_json__`` for the model to see."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"__invalid_json__": raw}
    return value if isinstance(value, dict) else {"__invalid_json__": raw}


def parse_usage(usage: dict[str, Any] | None) -> LLMUsage:
    """Neutral usage from a Chat Completions ``usage`` object (cached tokens split out)."""
    if not usage:
        return LLMUsage()
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return LLMUsage(
        input_tokens=max(0, (usage.get("prompt_tokens") or 0) - cached),
        output_tokens=usage.get("completion_tokens") or 0,
        cache_read_tokens=cached,
    )


def parse_completion(data: dict[str, Any], request: LLMRequest) -> LLMResponse:
    """An :class:`LLMResponse` from a Chat Completions response body."""
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[ContentPart] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append(ReasoningPart(text=reasoning, provider="openai-chat"))
    if message.get("content"):
        content.append(TextPart(text=message["content"]))
    elif message.get("refusal"):
        content.append(TextPart(text=message["refusal"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            ToolUsePart(
                id=call.get("id") or "",
                name=function.get("name") or "",
                input=parse_arguments(function.get("arguments")),
            )
        )
    finish = choice.get("finish_reason") or "stop"
    stop = FINISH_REASONS.get(finish, finish)
    if any(isinstance(p, ToolUsePart) for p in content):
        stop = "tool_use"
    return LLMResponse(
        content=content,
        stop_reason=stop,
        usage=parse_usage(data.get("usage")),
        model=data.get("model") or request.model,
        response_id=data.get("id"),
    )


class ChatStreamAssembler:
    """Builds neutral events and the final response from Chat Completions stream chunks."""

    def __init__(self, request: LLMRequest) -> None:
        self.request = request
        self.text = ""
        self.reasoning = ""
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.id: str | None = None
        self.model: str | None = None

    def feed(self, chunk: dict[str, Any]) -> list[LLMStreamEvent]:
        self.id = self.id or chunk.get("id")
        self.model = self.model or chunk.get("model")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        events: list[LLMStreamEvent] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self.reasoning += reasoning
                events.append(ReasoningDelta(text=reasoning))
            if delta.get("content"):
                self.text += delta["content"]
                events.append(TextDelta(text=delta["content"]))
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
                function = call.get("function") or {}
                slot["id"] = slot["id"] or call.get("id") or ""
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def tool_calls(self) -> list[ToolUsePart]:
        return [
            ToolUsePart(id=c["id"], name=c["name"], input=parse_arguments(c["arguments"]))
            for _, c in sorted(self.calls.items())
        ]

    def finish(self) -> list[LLMStreamEvent]:
        calls = self.tool_calls()
        content: list[ContentPart] = []
        if self.reasoning:
            content.append(ReasoningPart(text=self.reasoning, provider="openai-chat"))
        if self.text:
            content.append(TextPart(text=self.text))
        content.extend(calls)
        finish = self.finish_reason or "stop"
        stop = "tool_use" if calls else FINISH_REASONS.get(finish, finish)
        response = LLMResponse(
            content=content,
            stop_reason=stop,
            usage=parse_usage(self.usage),
            model=self.model or self.request.model,
            response_id=self.id,
        )
        events: list[LLMStreamEvent] = [ToolCallStarted(part=call) for call in calls]
        events.append(StreamDone(response=response))
        return events
