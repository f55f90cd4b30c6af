"""What the timeline adds from the database to ``step_finish`` entries: step records and conversations.

A ``step_finish`` event says that a step finished; its output stays in the step row, and an agent's
LLM reply stays in the conversation log (``AgentMessage``, found through the run's ``agent_setup``
step).  :func:`enrich` reads them for a batch of entries in at most three queries.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps

from ..models import Step
from . import timeline

AGENT_SETUP_KEY = "agent_setup"  # the agent loop's first step: it records the conversation id


def _conversations(execution_ids: set[str], setups: dict[str, str | None]) -> dict[str, list[dict[str, Any]]]:
    """The conversation log of each agent run among ``execution_ids`` (by execution id)."""
    try:
        model = apps.get_model("polos", "AgentMessage")
    except LookupError:
        return {}
    by_conversation: dict[str, str] = {}
    for execution_id in execution_ids:
        try:
            setup = json.loads(setups.get(execution_id) or "null")
        except ValueError:
            continue
        if isinstance(setup, dict) and setup.get("conversation_id"):
            by_conversation[str(setup["conversation_id"])] = execution_id
    logs: dict[str, list[dict[str, Any]]] = {}
    if not by_conversation:
        return logs
    rows = model.objects.filter(conversation_id__in=list(by_conversation)).order_by("conversation_id", "position")
    for conversation_id, position, data in rows.values_list("conversation_id", "position", "data"):
        log = logs.setdefault(by_conversation[conversation_id], [])
        while len(log) < position:
            log.append({})
        try:
            log.append(json.loads(data))
        except ValueError:
            log.append({})
    return logs


def enrich(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add their recorded step (and, for agents' LLM calls, the conversation) to ``step_finish`` entries."""
    wanted = [e for e in entries if e["type"] == "step_finish" and e.get("execution_id")]
    if not wanted:
        return entries
    executions = {e["execution_id"] for e in wanted}
    keys = {e["step_key"] for e in wanted}
    llm = any(e["subtitle"] == "llm" for e in wanted)
    if llm:
        keys.add(AGENT_SETUP_KEY)
    rows = Step.objects.filter(execution_id__in=executions, key__in=keys).values_list(
        "execution_id", "key", "output", "error"
    )
    records = {(execution_id, key): (output, error) for execution_id, key, output, error in rows}
    conversations: dict[str, list[dict[str, Any]]] = {}
    if llm:
        setups = {ex: out for (ex, key), (out, _) in records.items() if key == AGENT_SETUP_KEY}
        needing = {e["execution_id"] for e in wanted if e["subtitle"] == "llm"}
        conversations = _conversations(needing, setups)
    for entry in wanted:
        record = records.get((entry["execution_id"], entry["step_key"]))
        if record is not None:
            timeline.add_step_record(entry, *record, conversations.get(entry["execution_id"]))
    return entries
