"""Writing events and waking the executions that wait for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from polos.steps import TRACE_EVENT_TYPES
from polos.store import WAIT_EVENT, EventRecord, NewEvent, StepRecord, utcnow

from .. import live
from . import sql, triggers
from .wakeups import satisfy


def insert_events(
    cursor: Any,
    default_topic: str,
    events: Sequence[NewEvent],
    *,
    execution_id: str | None,
    project_id: str,
) -> list[EventRecord]:
    """Insert events (inside a transaction), wake event waits, publish live after commit."""
    if not events:
        return []
    now = utcnow()
    now_db = sql.db_time(now)
    for topic in sorted({e.topic or default_topic for e in events}):
        sql.lock_topic(cursor, topic)
    written = []
    for event in events:
        topic = event.topic or default_topic
        data, plain = sql.event_json(event)
        cursor.execute(
            f"INSERT INTO {sql.EVENT} (project_id, topic, event_type, data, execution_id, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            [project_id, topic, event.event_type, data, execution_id, now_db],
        )
        sequence_id = cursor.fetchone()[0]
        written.append(EventRecord(sequence_id, topic, event.event_type, plain, now, execution_id))
    wake_event_waits(cursor, [e for e in written if e.event_type not in TRACE_EVENT_TYPES])
    first: dict[str, int] = {}
    for record in written:
        first.setdefault(record.topic, record.sequence_id)
    for topic, sequence_id in first.items():
        triggers.on_publish(cursor, topic, project_id, sequence_id)
    transaction.on_commit(lambda: live.publish(written))
    return written


def wake_event_waits(cursor: Any, events: Sequence[EventRecord]) -> None:
    """Satisfy ``wait_for_event`` waits on the topics of ``events`` (each with its first later event)."""
    for topic in {e.topic for e in events}:
        cursor.execute(
            f"SELECT id, execution_id, step_key, after_sequence FROM {sql.WAIT} WHERE kind = %s AND topic = %s",
            [WAIT_EVENT, topic],
        )
        waits = cursor.fetchall()
        for wait_id, execution_id, step_key, after in waits:
            first = next((e for e in events if e.topic == topic and e.sequence_id > after), None)
            if first is not None:
                step = StepRecord(step_key, "wait_for_event", output=json.dumps(first.as_payload()))
                satisfy(cursor, wait_id, execution_id, step)
