"""The conversation view of an agent session.

Each run of an agent in the session is a turn.  When the run kept its conversation in the agents'
log (``AgentMessage``, found through the run's ``agent_setup`` step: conversation id and the position
where the run's messages start), the turn shows those messages: user input, the model's text,
reasoning and tool calls, the tool results.  Otherwise (other workflows, or no log) it is rebuilt
from the execution: what the user sent (the payload's ``input``), the ``tool_*`` events and the
result.  At most ``MAX_TURNS`` runs and ``MAX_LOG_MESSAGES`` logged messages are read.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps

from ..models import Event, Execution, Step
from . import timeline

MAX_TURNS = 200
MAX_LOG_MESSAGES = 2000
PART_LABELS = {"reasoning": "reasoning", "tool_use": "tool call", "tool_result": "tool result"}
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


def _log_message(message: Any) -> dict[str, Any]:
    """A logged message (``polos.llm.Message`` as JSON) as ``{"role", "parts": [{"kind", "label", "text"}]}``."""
    if not isinstance(message, dict):
        return {"role": "user", "parts": [{"kind": "text", "label": "", "text": str(message)}]}
    parts = []
    for part in message.get("content") or []:
        if not isinstance(part, dict) or part.get("redacted"):
            continue
        kind = str(part.get("type", "text"))
        if kind in ("text", "reasoning"):
            text = str(part.get("text", ""))
        elif kind == "tool_use":
            text = json.dumps({"name": part.get("name"), "input": part.get("input")}, indent=2, ensure_ascii=False)
        elif kind == "tool_result":
            text = str(part.get("content", ""))
        else:
            text = json.dumps(part, indent=2, ensure_ascii=False, default=str)
        parts.append({"kind": kind, "label": PART_LABELS.get(kind, "" if kind == "text" else kind), "text": text})
    return {"role": str(message.get("role", "user")), "parts": parts}


def _logs(ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each agent run's own messages from the conversation log (by execution id)."""
    try:
        model = apps.get_model("polos", "AgentMessage")
    except LookupError:
        return {}
    starts: dict[str, tuple[str, int]] = {}
    for execution_id, output in Step.objects.filter(execution_id__in=ids, key="agent_setup").values_list(
        "execution_id", "output"
    ):
        setup = _loads(output)
        if isinstance(setup, dict) and setup.get("conversation_id"):
            starts[execution_id] = (str(setup["conversation_id"]), int(setup.get("start") or 0))
    if not starts:
        return {}
    messages: dict[str, dict[int, Any]] = {}
    rows = model.objects.filter(conversation_id__in={c for c, _ in starts.values()}).order_by("position")
    for conversation_id, position, data in rows.values_list("conversation_id", "position", "data")[:MAX_LOG_MESSAGES]:
        messages.setdefault(conversation_id, {})[position] = _loads(data)
    logs: dict[str, list[dict[str, Any]]] = {}
    for execution_id, (conversation_id, start) in starts.items():
        later = [s for c, s in starts.values() if c == conversation_id and s > start]
        end = min(later, default=None)
        found = messages.get(conversation_id, {})
        logs[execution_id] = [_log_message(found[p]) for p in sorted(found) if p >= start and (end is None or p < end)]
    return logs


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
    logs = _logs(ids)
    turns = []
    for run in runs:
        payload = _loads(run["payload"])
        sent = payload.get("input") if isinstance(payload, dict) and "input" in payload else payload
        error = _loads(run["error"])
        turns.append(
            {
                "run": run,
                "log": logs.get(run["id"]),
                "messages": _messages(sent),
                "tools": tools.get(run["id"], []),
                "answer": _answer(_loads(run["result"])),
                "error": error.get("message") if isinstance(error, dict) else error,
            }
        )
    return turns
