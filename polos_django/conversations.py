"""The database implementation of :class:`polos.memory.ConversationStore`.

Bound at app start (``PolosConfig.ready``), so agents run by workers keep their conversation log
and session memory in the ``polos_agent_message`` / ``polos_agent_memory`` tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Max, Sum
from django.db.models.functions import Length
from django.utils import timezone

from polos.memory.store import ConversationStore, bind_conversation_store

from .models import AgentMemory, AgentMessage

TABLE = AgentMessage._meta.db_table


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DjangoConversationStore(ConversationStore):
    """Conversation logs and session memory in the database (one statement per call)."""

    def append(self, conversation_id: str, index: int, messages: Sequence[dict[str, Any]]) -> None:
        if not messages:
            return
        # One upsert statement (autocommit): this is on every LLM call's path.
        now = timezone.now()
        rows = [(conversation_id, index + offset, _dumps(m), now) for offset, m in enumerate(messages)]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
        params = [value for row in rows for value in row]
        upsert = (
            f"INSERT INTO {TABLE} (conversation_id, position, data, created_at) VALUES {values} "
            "ON CONFLICT (conversation_id, position) DO UPDATE SET data = excluded.data"
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and connection.get_autocommit():
                # The LLM step that references these rows commits synchronously right after, and a
                # synchronous commit flushes the WAL up to it: this write need not wait for the disk.
                # Lost in a crash before that commit, it is written again by the replay.
                upsert = f"WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) {upsert}"
                upsert += " RETURNING (SELECT 1 FROM async_commit)"
            cursor.execute(upsert, params)

    def load(self, conversation_id: str, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        rows = AgentMessage.objects.filter(conversation_id=conversation_id, position__gte=start)
        if end is not None:
            rows = rows.filter(position__lt=end)
        return [json.loads(data) for data in rows.order_by("position").values_list("data", flat=True)]

    def length(self, conversation_id: str) -> int:
        last = AgentMessage.objects.filter(conversation_id=conversation_id).aggregate(last=Max("position"))["last"]
        return 0 if last is None else int(last) + 1

    def get_value(self, key: str) -> Any:
        value = AgentMemory.objects.filter(key=key).values_list("value", flat=True).first()
        return None if value is None else json.loads(value)

    def set_value(self, key: str, value: Any) -> None:
        if value is None:
            AgentMemory.objects.filter(key=key).delete()
            return
        AgentMemory.objects.update_or_create(key=key, defaults={"value": _dumps(value), "updated_at": timezone.now()})

    def stored_bytes(self, conversation_id: str) -> int:
        total = AgentMessage.objects.filter(conversation_id=conversation_id).aggregate(n=Sum(Length("data")))["n"]
        return int(total or 0)


def bind() -> DjangoConversationStore:
    """Make the database store the conversation store of this process."""
    store = DjangoConversationStore()
    bind_conversation_store(store)
    return store


__all__ = ["DjangoConversationStore", "bind"]
