"""Rendering scripted replies in the Anthropic Messages, OpenAI Chat Completions and Responses
wire formats (JSON bodies, or lists of server-sent events when streaming)."""

from __future__ import annotations

import json
import time
from typing import Any

from polos.llm.types import LLMUsage, ToolUsePart

from .scripted import Reply, estimate_tokens, split_chunks

SSEvent = tuple[str | None, dict[str, Any] | str]
"""``(event name or None, data)``; data ``"[DONE]"`` is sent verbatim."""

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def reply_usage(reply: Reply, body: dict[str, Any], calls: list[ToolUsePart]) -> LLMUsage:
    if reply.usage is not None:
        return reply.usage
    output = (reply.text or "") + (reply.reasoning or "") + "".join(json.dumps(c.input) for c in calls)
    return LLMUsage(input_tokens=estimate_tokens(json.dumps(body)), output_tokens=estimate_tokens(output))


def _stop_reason(reply: Reply, calls: list[ToolUsePart]) -> str:
    return reply.stop_reason or ("tool_use" if calls else "end_turn")


def _json_chunks(value: dict[str, Any]) -> list[str]:
    text = json.dumps(value)
    size = max(1, len(text) // 3)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def error_body(api: str, status: int, message: str) -> dict[str, Any]:
    if api == "anthropic":
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": None,
            "code": code,
        }
    }


# --- Anthropic Messages -----------------------------------------------------------------------


def anthropic_message(reply: Reply, body: dict[str, Any], index: int) -> dict[str, Any]:
    calls = reply.tool_use_parts(index)
    usage = reply_usage(reply, body, calls)
    content: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        content.append({"type": "thinking", "thinking": reply.reasoning, "signature": f"sig-{index}"})
    if reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    for call in calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input})
    return {
        "id": f"msg_fake_{index}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "fake",
        "content": content,
        "stop_reason": _stop_reason(reply, calls),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
            "cache_creation_input_tokens": usage.cache_creation_tokens,
        },
    }


def anthropic_events(reply: Reply, body: dict[str, Any], index: int) -> list[SSEvent]:
    message = anthropic_message(reply, body, index)
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[SSEvent] = [("message_start", {"type": "message_start", "message": start})]
    for position, block in enumerate(message["content"]):
        kind = block["type"]
        empty = {
            "text": {"type": "text", "text": ""},
            "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            "tool_use": {**block, "input": {}},
        }[kind]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": position, "content_block": empty},
            )
        )
        deltas: list[dict[str, Any]] = []
        if kind == "text":
            deltas = [{"type": "text_delta", "text": c} for c in split_chunks(block["text"])]
        elif kind == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": c} for c in split_chunks(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            deltas = [{"type": "input_json_delta", "partial_json": c} for c in _json_chunks(block["input"])]
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": position, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": position}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# --- OpenAI Chat Completions ------------------------------------------------------------------

_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def _chat_usage(usage: LLMUsage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def chat_completion(reply: Reply, body: dict[str, Any], index: int) -> dict[str, Any]:
    calls = reply.tool_use_parts(index)
    usage = reply_usage(reply, body, calls)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.input)},
            }
            for c in calls
        ]
    stop = _stop_reason(reply, calls)
    return {
        "id": f"chatcmpl-fake-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _FINISH.get(stop, stop),
                "logprobs": None,
            }
        ],
        "usage": _chat_usage(usage),
    }


def chat_events(reply: Reply, body: dict[str, Any], index: int) -> list[SSEvent]:
    completion = chat_completion(reply, body, index)
    base = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> SSEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return (None, {**base, "choices": [choice]})

    events: list[SSEvent] = [chunk({"role": "assistant", "content": ""})]
    if reply.reasoning:
        events += [chunk({"reasoning_content": c}) for c in split_chunks(reply.reasoning)]
    if reply.text:
        events += [chunk({"content": c}) for c in split_chunks(reply.text)]
    for position, call in enumerate(completion["choices"][0]["message"].get("tool_calls") or []):
        head = {"index": position, "id": call["id"], "type": "function"}
        events.append(
            chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]})
        )
        arguments = call["function"]["arguments"]
        size = max(1, len(arguments) // 3)
        for start in range(0, len(arguments), size):
            piece = arguments[start : start + size]
            events.append(chunk({"tool_calls": [{"index": position, "function": {"arguments": piece}}]}))
    events.append(chunk({}, completion["choices"][0]["finish_reason"]))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**base, "choices": [], "usage": completion["usage"]}))
    events.append((None, "[DONE]"))
    return events


# --- OpenAI Responses -------------------------------------------------------------------------


def _responses_items(reply: Reply, index: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        reasoning: dict[str, Any] = {
            "type": "reasoning",
            "id": f"rs_fake_{index}",
            "summary": [{"type": "summary_text", "text": reply.reasoning}],
        }
        if "reasoning.encrypted_content" in (body.get("include") or []):
            reasoning["encrypted_content"] = f"encrypted-{index}"
        items.append(reasoning)
    if reply.text is not None:
        items.append(
            {
                "type": "message",
                "id": f"msg_fake_{index}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        )
    for position, call in enumerate(reply.tool_use_parts(index)):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_fake_{index}_{position}",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.input),
                "status": "completed",
            }
        )
    return items


def response_object(reply: Reply, body: dict[str, Any], index: int) -> dict[str, Any]:
    calls = reply.tool_use_parts(index)
    usage = reply_usage(reply, body, calls)
    stop = _stop_reason(reply, calls)
    incomplete = stop == "max_tokens"
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens
    return {
        "id": f"resp_fake_{index}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": body.get("model") or "fake",
        "instructions": body.get("instructions"),
        "output": _responses_items(reply, index, body),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "metadata": {},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + usage.output_tokens,
        },
    }


def responses_events(reply: Reply, body: dict[str, Any], index: int) -> list[SSEvent]:
    final = response_object(reply, body, index)
    sequence = 0
    events: list[SSEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        nonlocal sequence
        events.append((kind, {"type": kind, "sequence_number": sequence, **fields}))
        sequence += 1

    emit("response.created", response={**final, "status": "in_progress", "output": [], "usage": None})
    emit("response.in_progress", response={**final, "status": "in_progress", "output": [], "usage": None})
    for position, item in enumerate(final["output"]):
        kind = item["type"]
        where = {"item_id": item["id"], "output_index": position}
        if kind == "message":
            emit("response.output_item.added", output_index=position, item={**item, "content": []})
            part = item["content"][0]
            emit("response.content_part.added", **where, content_index=0, part={**part, "text": ""})
            for chunk in split_chunks(part["text"]):
                emit("response.output_text.delta", **where, content_index=0, delta=chunk, logprobs=[])
            emit("response.output_text.done", **where, content_index=0, text=part["text"], logprobs=[])
            emit("response.content_part.done", **where, content_index=0, part=part)
        elif kind == "reasoning":
            emit("response.output_item.added", output_index=position, item={**item, "summary": []})
            part = item["summary"][0]
            emit("response.reasoning_summary_part.added", **where, summary_index=0, part={**part, "text": ""})
            for chunk in split_chunks(part["text"]):
                emit("response.reasoning_summary_text.delta", **where, summary_index=0, delta=chunk)
            emit("response.reasoning_summary_text.done", **where, summary_index=0, text=part["text"])
            emit("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
        else:
            emit("response.output_item.added", output_index=position, item={**item, "arguments": ""})
            emit("response.function_call_arguments.delta", **where, delta=item["arguments"])
            emit("response.function_call_arguments.done", **where, arguments=item["arguments"])
        emit("response.output_item.done", output_index=position, item=item)
    emit("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
    return events
