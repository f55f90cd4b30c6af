"""Turn trace events into timeline entries: one plain-data description per event.

The execution page renders these entries server-side (a template) and the live socket sends the same
entries as JSON for the page's script to append, so both paths show an event the same way.  Known
event types (workflow, step, suspend/resume, agent, LLM and tool events) get a title, a status,
duration, tokens and cost; anything else is shown generically with its data as JSON.  Entries are
plain strings and numbers: the template autoescapes them and the script only ever sets
``textContent``, so HTML or script inside event data is shown, never run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_FIELD_CHARS = 20_000

# Keys of event data shown as fields, in this order, with their label and format.
_FIELD_KEYS: tuple[tuple[str, str, str], ...] = (
    ("description", "Description", "text"),
    ("model", "Model", "text"),
    ("system_prompt", "System prompt", "text"),
    ("prompt", "Prompt", "text"),
    ("messages", "Messages", "json"),
    ("input", "Input", "json"),
    ("arguments", "Arguments", "json"),
    ("args", "Arguments", "json"),
    ("reasoning", "Reasoning", "text"),
    ("thinking", "Reasoning", "text"),
    ("text", "Text", "text"),
    ("content", "Content", "text"),
    ("response", "Response", "json"),
    ("output", "Output", "json"),
    ("result", "Result", "json"),
    ("error", "Error", "text"),
)
_SHOWN_KEYS = frozenset(k for k, _, _ in _FIELD_KEYS) | {
    "execution_id",
    "workflow_id",
    "status",
    "step_key",
    "step_type",
    "duration_ms",
    "usage",
    "cost_usd",
    "cost",
    "tool",
    "tool_name",
    "name",
    "agent_id",
    "_metadata",
    "channel",
    "tool_call",
    "step",
    "chunk_index",
    "tool_call_id",
}


def _dump(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    if len(text) > MAX_FIELD_CHARS:
        text = text[:MAX_FIELD_CHARS] + f"\n… ({len(text) - MAX_FIELD_CHARS} more characters)"
    return text


def _field(label: str, value: Any, fmt: str = "text") -> dict[str, Any]:
    if fmt == "json" and isinstance(value, str):
        fmt = "diff" if _looks_like_diff(value) else "text"
    elif fmt == "text" and not isinstance(value, str):
        fmt = "json"
    field: dict[str, Any] = {"label": label, "value": _dump(value), "format": fmt}
    if fmt == "diff":
        field["lines"] = [{"cls": _diff_class(line), "text": line} for line in field["value"].splitlines()]
    return field


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "")


def _looks_like_diff(text: str) -> bool:
    return text.startswith(("--- ", "diff --git", "@@ ")) or "\n@@ " in text


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def safe_url(value: Any) -> str | None:
    """``value`` if it is an http(s) or site-relative URL (never ``javascript:`` and the like)."""
    if not isinstance(value, str):
        return None
    if value.startswith(("https://", "http://")) or (value.startswith("/") and not value.startswith("//")):
        return value
    return None


def _usage(data: Mapping[str, Any]) -> dict[str, int] | None:
    usage = data.get("usage")
    if not isinstance(usage, Mapping):
        response = data.get("response")
        usage = response.get("usage") if isinstance(response, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    found = {}
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "total_tokens"):
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = int(value)
    return found or None


def _cost(data: Mapping[str, Any]) -> float | None:
    for source in (data, data.get("response"), data.get("usage")):
        if isinstance(source, Mapping):
            for key in ("cost_usd", "cost"):
                value = source.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return float(value)
    return None


def _context_fields(context: Any) -> list[dict[str, Any]]:
    """The ``context`` of a suspend form, readably: commands as code, diffs as diffs."""
    if not isinstance(context, Mapping):
        return [] if context in (None, {}, "") else [_field("Context", context, "json")]
    fields = []
    for key, value in context.items():
        label = str(key).replace("_", " ").capitalize()
        if key in ("command", "cmd", "code", "script") and isinstance(value, str):
            fields.append(_field(label, value, "code"))
        elif key in ("diff", "patch") or (isinstance(value, str) and _looks_like_diff(value)):
            fields.append(_field(label, value, "diff"))
        else:
            fields.append(_field(label, value, "text" if isinstance(value, str) else "json"))
    return fields


def _category(event_type: str, data: Mapping[str, Any]) -> str:
    if event_type.startswith("workflow_"):
        return "workflow"
    if event_type.startswith(("suspend_", "resume_")):
        return "approval"
    if event_type.startswith("tool_"):
        return "tool"
    if event_type.startswith("agent_"):
        return "agent"
    if event_type.startswith(("llm_", "text_", "stream_", "reasoning")) or _usage(data):
        return "llm"
    if event_type.startswith("step_"):
        kind = str(data.get("step_type") or "")
        return "llm" if "llm" in kind else "tool" if "tool" in kind else "step"
    if "notif" in event_type:
        return "notify"
    return "event"


def describe(event: Mapping[str, Any]) -> dict[str, Any]:
    """The timeline entry of one event (``event`` as sent by the streams: ``event_dict``)."""
    event_type = str(event.get("event_type") or "event")
    raw = event.get("data")
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"value": raw} if raw is not None else {}
    category = _category(event_type, data)
    meta = data.get("_metadata") if isinstance(data.get("_metadata"), Mapping) else {}
    entry: dict[str, Any] = {
        "seq": event.get("sequence_id"),
        "type": event_type,
        "category": category,
        "execution_id": data.get("execution_id") or meta.get("execution_id") or event.get("execution_id"),
        "time": event.get("created_at"),
        "clock": str(event.get("created_at") or "")[11:23],
        "status": None,
        "title": event_type,
        "subtitle": "",
        "duration_ms": data.get("duration_ms") if isinstance(data.get("duration_ms"), int | float) else None,
        "usage": _usage(data),
        "cost_usd": _cost(data),
        "link": None,
        "merge": None,
        "fields": [],
    }
    fields: list[dict[str, Any]] = entry["fields"]
    call = data.get("tool_call") if isinstance(data.get("tool_call"), Mapping) else {}
    function = call.get("function") if isinstance(call.get("function"), Mapping) else {}
    name = data.get("tool_name") or data.get("tool") or data.get("name") or function.get("name") or data.get("agent_id")
    if event_type == "workflow_start":
        entry["title"] = f"Started {data.get('workflow_id', '')}".strip()
        entry["status"] = "running"
    elif event_type in ("workflow_finish", "workflow_cancel"):
        status = str(data.get("status") or ("cancelled" if event_type == "workflow_cancel" else "completed"))
        entry["status"] = status
        entry["title"] = f"{data.get('workflow_id', 'Workflow')} {status}"
    elif event_type in ("step_start", "step_finish"):
        entry["step_key"] = str(data.get("step_key", "?"))
        entry["title"] = f"Step {entry['step_key']}"
        entry["subtitle"] = str(data.get("step_type") or "")
        entry["status"] = "running" if event_type == "step_start" else str(data.get("status") or "completed")
    elif event_type.startswith("suspend_"):
        key = event_type[len("suspend_") :]
        form = data.get("_form") if isinstance(data.get("_form"), Mapping) else {}
        entry["title"] = f"Waiting for approval: {form.get('title') or key}"
        entry["subtitle"] = str(data.get("_source") or "")
        entry["status"] = "waiting"
        entry["link"] = safe_url(data.get("_approval_url"))
        if form.get("description"):
            fields.append(_field("Description", form["description"]))
        fields.extend(_context_fields(form.get("context")))
        labels = [f.get("label") or f.get("key") for f in form.get("fields") or [] if isinstance(f, Mapping)]
        if labels:
            fields.append(_field("Asks for", ", ".join(str(label) for label in labels)))
        extra = {k: v for k, v in data.items() if not str(k).startswith("_")}
        if extra:
            fields.append(_field("Data", extra, "json"))
        return entry
    elif event_type.startswith("resume_"):
        entry["title"] = f"Answered {event_type[len('resume_') :]}"
        entry["status"] = "completed"
        answer = data.get("data", data)
        fields.append(_field("Answer", answer, "json"))
        return entry
    elif event_type in ("text_delta", "reasoning_delta"):
        entry["title"] = "Reasoning" if event_type == "reasoning_delta" else "Model output"
        entry["merge"] = f"{event_type}:{entry['execution_id']}"
        text = data.get("text", data.get("content", data.get("delta", "")))
        fields.append(_field("Text", text if isinstance(text, str) else _dump(text)))
        return entry
    elif category == "tool":
        verb = {"tool_call": "Tool call", "tool_start": "Tool started", "tool_finish": "Tool finished"}
        entry["title"] = f"{verb.get(event_type, event_type)}: {name or '?'}"
        if event_type == "tool_finish":
            entry["status"] = "failed" if data.get("error") else "completed"
        if "arguments" in function:
            fields.append(_field("Arguments", _json_or_text(function["arguments"]), "json"))
    elif category == "agent":
        agent = name or meta.get("agent_id") or data.get("workflow_id", "")
        entry["title"] = f"{event_type.replace('_', ' ').capitalize()}: {agent}".strip()
        if event_type == "agent_finish":
            entry["status"] = "failed" if data.get("error") else "completed"
            result = data.get("result") if isinstance(data.get("result"), Mapping) else {}
            entry["usage"] = entry["usage"] or _usage(result)
            if result.get("total_steps") is not None:
                entry["subtitle"] = f"{result['total_steps']} steps"
    elif category == "notify":
        channel = data.get("channel") or "?"
        sent = not event_type.endswith("failed")
        entry["title"] = f"Notification {'sent' if sent else 'failed'}: {channel}"
        entry["status"] = "completed" if sent else "failed"
        if data.get("step_key"):
            entry["subtitle"] = f"for {data['step_key']}"
    elif category == "llm":
        entry["title"] = f"LLM {event_type.replace('_', ' ')}"
        if data.get("model"):
            entry["subtitle"] = str(data["model"])
    for key, label, fmt in _FIELD_KEYS:
        if key in data and data[key] not in (None, "", [], {}):
            if key == "error" and entry["status"] is None:
                entry["status"] = "failed"
            fields.append(_field(label, data[key], fmt))
    rest = {k: v for k, v in data.items() if k not in _SHOWN_KEYS}
    if rest:
        fields.append(_field("Data", rest, "json"))
    return entry


def _parts_text(parts: list[Mapping[str, Any]], kind: str) -> str:
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == kind and not p.get("redacted"))


def add_step_record(
    entry: dict[str, Any],
    output: str | None,
    error: str | None,
    conversation: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Add what a ``step_finish`` entry's recorded step holds (the event itself carries none).

    An LLM call shows its prompt, reasoning, response, tool calls, usage and cost: from the step's
    output when it holds the whole response, or, for agents (whose LLM steps record only the reply's
    position in the conversation log), from ``conversation``: the log's messages up to that position.
    Any other step shows its output.
    """
    value = _json_or_text(output) if output else None
    fields: list[dict[str, Any]] = entry["fields"]
    if entry["subtitle"] == "llm" and isinstance(value, Mapping):
        reply: Any = value
        prompt: list[Mapping[str, Any]] = []
        if "pos" in value and conversation is not None:
            position = int(value["pos"])
            reply = conversation[position] if 0 <= position < len(conversation) else {}
            before = conversation[:position]
            # The prompt of this call: what was added since the model last spoke.
            start = max((i + 1 for i, m in enumerate(before) if m.get("role") == "assistant"), default=0)
            prompt = [m for m in before[start:] if isinstance(m, Mapping)]
        parts = [p for p in reply.get("content") or [] if isinstance(p, Mapping)] if isinstance(reply, Mapping) else []
        entry["category"] = "llm"
        entry["title"] = f"LLM call {entry['step_key']}"
        if value.get("model"):
            entry["subtitle"] = str(value["model"])
        entry["usage"] = _usage(value)
        entry["cost_usd"] = _cost(value)
        for message in prompt:
            message_parts = [p for p in message.get("content") or [] if isinstance(p, Mapping)]
            text = _parts_text(message_parts, "text")
            if text:
                fields.append(_field(f"Prompt ({message.get('role', 'user')})", text))
            results = [
                {"tool_use_id": p.get("tool_use_id"), "content": p.get("content"), "is_error": p.get("is_error")}
                for p in message_parts
                if p.get("type") == "tool_result"
            ]
            if results:
                fields.append(_field("Tool results sent", results, "json"))
        reasoning, text = _parts_text(parts, "reasoning"), _parts_text(parts, "text")
        calls = [{"name": p.get("name"), "input": p.get("input")} for p in parts if p.get("type") == "tool_use"]
        if reasoning:
            fields.append(_field("Reasoning", reasoning))
        if text:
            fields.append(_field("Response", text))
        if calls:
            fields.append(_field("Tool calls", calls, "json"))
        if value.get("stop_reason"):
            fields.append(_field("Stop reason", str(value["stop_reason"])))
        if value.get("retries"):
            fields.append(_field("Retries", value["retries"], "json"))
    elif value is not None:
        fields.append(_field("Output", value, "json"))
    if error and not any(f["label"] == "Error" for f in fields):
        fields.append(_field("Error", _json_or_text(error), "json"))
    return entry


def build(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entries for a list of events, consecutive text deltas of one execution merged into one entry."""
    entries: list[dict[str, Any]] = []
    for event in events:
        entry = describe(event)
        last = entries[-1] if entries else None
        if entry["merge"] and last is not None and last["merge"] == entry["merge"]:
            last["fields"][0]["value"] += entry["fields"][0]["value"] if entry["fields"] else ""
            last["seq"] = entry["seq"]
            continue
        entries.append(entry)
    return entries


def totals(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Tokens and cost summed over the entries that report them."""
    entries = list(entries)
    # An agent's finish event may repeat the sum of its LLM calls: count LLM entries when there are any.
    llm = [e for e in entries if e.get("category") == "llm" and (e.get("usage") or e.get("cost_usd") is not None)]
    tokens = {"input_tokens": 0, "output_tokens": 0}
    cost = 0.0
    priced = False
    for entry in llm or entries:
        usage = entry.get("usage") or {}
        for key in tokens:
            tokens[key] += int(usage.get(key, 0))
        if entry.get("cost_usd") is not None:
            cost += float(entry["cost_usd"])
            priced = True
    return {**tokens, "cost_usd": round(cost, 6) if priced else None}
