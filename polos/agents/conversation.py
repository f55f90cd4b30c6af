"""Turning agent input into messages, and messages into log entries and back."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from pydantic import BaseModel

from ..exceptions import PayloadValidationError
from ..llm.types import Message, TextPart, ToolResultPart

_TEXT_TYPES = ("text", "input_text", "output_text")


def input_messages(value: Any, agent_id: str = "agent") -> list[Message]:
    """The messages of an agent input: a string, or a list of messages.

    A message is a :class:`~polos.llm.Message`, or a dict ``{"role": "user" | "assistant", "content":
    str | [parts]}``; parts are ``{"type": "text", "text": ...}`` (also ``input_text`` /
    ``output_text``) or the part dicts of :mod:`polos.llm.types`.

    Raises:
        PayloadValidationError: the input has another shape (the message says which item).
    """
    if isinstance(value, str):
        if not value:
            raise PayloadValidationError(f"agent {agent_id!r}: the input is an empty string", workflow_id=agent_id)
        return [Message.user(value)]
    if not isinstance(value, list) or not value:
        raise PayloadValidationError(
            f"agent {agent_id!r}: input must be a non-empty string or a non-empty list of messages, got "
            f"{type(value).__name__}",
            workflow_id=agent_id,
        )
    messages: list[Message] = []
    for index, item in enumerate(value):
        try:
            messages.append(_message(item))
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise PayloadValidationError(
                f"agent {agent_id!r}: input message {index} is not a message ({exc}); use "
                "{'role': 'user' | 'assistant', 'content': '...'}",
                workflow_id=agent_id,
            ) from None
    return messages


def _message(item: Any) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, BaseModel):
        item = item.model_dump(mode="json")
    if not isinstance(item, dict):
        raise TypeError(f"got {type(item).__name__}")
    role = item.get("role")
    if role == "system":
        raise ValueError("system messages are not input: set the agent's system_prompt")
    if role not in ("user", "assistant"):
        raise ValueError(f"role must be 'user' or 'assistant', got {role!r}")
    content = item.get("content")
    if isinstance(content, str):
        return Message(role=role, content=[TextPart(text=content)])
    if not isinstance(content, list):
        raise TypeError("content must be a string or a list of parts")
    parts: list[Any] = []
    for part in content:
        if isinstance(part, str):
            parts.append(TextPart(text=part))
        elif isinstance(part, dict) and part.get("type") in _TEXT_TYPES:
            parts.append(TextPart(text=str(part.get("text", ""))))
        else:
            parts.append(part)
    return Message.model_validate({"role": role, "content": parts})


def dump_message(message: Message) -> dict[str, Any]:
    """A message as a JSON-compatible dict (a log entry)."""
    return message.model_dump(mode="json", exclude_none=True)


def load_message(entry: dict[str, Any]) -> Message:
    """A log entry back as a :class:`Message`."""
    return Message.model_validate(entry)


def tool_result_content(value: Any) -> str:
    """A tool's result as the text the model reads (JSON for structured values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def tool_results_message(results: list[ToolResultPart]) -> Message:
    """The ``user`` message carrying tool results back to the model."""
    return Message(role="user", content=list(results))


def estimate_tokens(messages: list[Message], system: str | None = None) -> int:
    """A rough token count of a conversation (about four characters a token)."""
    size = len(system or "")
    for message in messages:
        for part in message.content:
            size += len(part.model_dump_json())
    return size // 4
