"""The conversation view of an agent session, rebuilt from its executions and their events.

Each run of an agent in the session is a turn: what the user sent (the payload's ``input``: text or a
list of messages), the tool calls the agent made (its ``tool_*`` events) and what it answered (the
result's ``result``, or the text).  Reading executions and events keeps the page working whatever
conversation storage the agents use; it reads at most ``MAX_TURNS`` runs.
"""

from __future__ import annotations

import json
from typing import Any

from ..models import Event, Execution
from . import timeline

MAX_TURNS = 200
TOOL_EVENTS = ("tool_call", "tool_start", "tool_finish")


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _messages(value: Any) -> list[dict[str, str]]:
    """Chat messages as ``[{"role", "text"}]`` from a string or a list of messages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "text": value}]
    if isinstance(value, list):
        found = []
        for item in value:
            if isinstance(item, dict):
                content = item.get("content", item.get("text", ""))
                if isinstance(content, list):  # content blocks
                    content = "\n".join(
                        str(block.get("text", "")) if isinstance(block, dict) else str(block) for block in content
                    )
                found.append({"role": str(item.get("role", "user")), "text": str(content)})
            else:
                found.append({"role": "user", "text": str(item)})
        return found
    return [{"role": "user", "text": json.dumps(value, indent=2, ensure_ascii=False, default=str)}]


def _answer(result: Any) -> str:
    if isinstance(result, dict) and "result" in result:
        result = result["result"]
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    return json.dumps(result, indent=2, ensure_ascii=False, default=str)


def session_turns(session_id: str) -> list[dict[str, Any]]:
    """The turns of a session, oldest first (empty when the session has no executions)."""
    runs = list(
        Execution.objects.filter(session_id=session_id, parent__isnull=True)
        .order_by("created_at", "id")
        .values("id", "workflow_id", "workflow_type", "status", "payload", "result", "error", "created_at")[:MAX_TURNS]
    )
    if not runs:
        return []
    ids = [run["id"] for run in runs]
    tools: dict[str, list[dict[str, Any]]] = {}
    rows = (
        Event.objects.filter(execution_id__in=ids, event_type__in=TOOL_EVENTS)
        .order_by("id")
        .values("id", "event_type", "data", "created_at", "execution_id", "topic")
    )
    for row in rows:
        event = {
            "sequence_id": row["id"],
            "event_type": row["event_type"],
            "data": _loads(row["data"]),
            "created_at": row["created_at"].isoformat(),
            "execution_id": row["execution_id"],
        }
        tools.setdefault(row["execution_id"], []).append(timeline.describe(event))
    turns = []
    for run in runs:
        payload = _loads(run["payload"])
        sent = payload.get("input") if isinstance(payload, dict) and "input" in payload else payload
        error = _loads(run["error"])
        turns.append(
            {
                "run": run,
                "messages": _messages(sent),
                "tools": tools.get(run["id"], []),
                "answer": _answer(_loads(run["result"])),
                "error": error.get("message") if isinstance(error, dict) else error,
            }
        )
    return turns
