"""Event-triggered workflows: each event (or batch of events) on a topic starts one execution.

A trigger (``polos_event_trigger``) is written for every ``@workflow(trigger_on_event=...)`` a worker
serves (:func:`register`).  Its consumption of a topic in one project is a cursor row
(``polos_trigger_cursor``): the sequence id of the last event consumed.  Consuming is one
transaction that locks the topic and the cursor, reads the events after it, creates one execution
per batch and moves the cursor — so every event starts exactly one execution per trigger, whatever
crashes and however many processes publish.

Batches: up to ``batch_size`` events each; a partial batch waits for more events until its oldest
event is ``batch_timeout_seconds`` old (flushed by the reaper's sweep).  Without a timeout a partial
batch waits for events to fill it.  Cursors start at the first event published after the trigger
was registered.  Workflow topics (``workflow/...``) never trigger: they carry every step's trace.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from polos.store import ExecutionRecord, NewExecution, utcnow

from . import sql

logger = logging.getLogger("polos.triggers")

TRIGGER = "polos_event_trigger"
CURSOR = "polos_trigger_cursor"
MAX_EVENTS_PER_PASS = 5000


def register(workflows: Iterable[Any]) -> int:
    """Create or update the trigger rows of the event-triggered workflows among ``workflows``.

    A served workflow that no longer has ``trigger_on_event`` loses its trigger (and its cursors):
    events stop starting it.  Triggers of workflows this process does not serve are left alone.
    """
    from ..models import EventTrigger

    count = 0
    now = sql.now_param()
    untriggered = []
    with transaction.atomic(), connection.cursor() as cursor:
        for wf in workflows:
            topic = getattr(wf, "trigger_on_event", None)
            if not topic:
                untriggered.append(wf.id)
                continue
            queue = getattr(wf, "queue", None)
            params = [
                topic,
                int(wf.batch_size),
                wf.batch_timeout_seconds,
                queue.name if queue is not None else None,
                now,
                wf.id,
            ]
            cursor.execute(
                f"UPDATE {TRIGGER} SET topic = %s, batch_size = %s, batch_timeout_seconds = %s, queue_name = %s, "
                "updated_at = %s WHERE workflow_id = %s",
                params,
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    f"INSERT INTO {TRIGGER} (topic, batch_size, batch_timeout_seconds, queue_name, updated_at, "
                    "workflow_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [*params, now],
                )
            count += 1
        removed = EventTrigger.objects.filter(workflow_id__in=untriggered)
        for trigger in removed:
            logger.info(
                "workflow %s is no longer triggered by events on %r: trigger removed",
                trigger.workflow_id,
                trigger.topic,
            )
        removed.delete()
    return count


def on_publish(cursor: Any, topic: str, project_id: str, first_sequence: int) -> list[ExecutionRecord]:
    """Called inside the transaction that wrote events on ``topic``: consume them for its triggers."""
    if topic.startswith("workflow/"):
        return []
    cursor.execute(
        f"SELECT id, workflow_id, batch_size, batch_timeout_seconds, queue_name FROM {TRIGGER} WHERE topic = %s",
        [topic],
    )
    created: list[ExecutionRecord] = []
    for trigger in cursor.fetchall():
        cursor.execute(
            f"INSERT INTO {CURSOR} (trigger_id, project_id, last_sequence, updated_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [trigger[0], project_id, first_sequence - 1, sql.now_param()],
        )
        created += consume(cursor, trigger, topic, project_id, flush_before=None)
    return created


def consume(
    cursor: Any, trigger: Sequence[Any], topic: str, project_id: str, *, flush_before: dt.datetime | None
) -> list[ExecutionRecord]:
    """Start executions for the complete batches after the cursor (and a partial one whose oldest
    event is older than ``flush_before``); move the cursor.  Inside a transaction holding the topic lock."""
    from .store import get_store

    trigger_id, workflow_id, batch_size, _, queue_name = trigger
    lock = " FOR UPDATE" if sql.is_postgres() else ""
    cursor.execute(
        f"SELECT id, last_sequence FROM {CURSOR} WHERE trigger_id = %s AND project_id = %s{lock}",
        [trigger_id, project_id],
    )
    row = cursor.fetchone()
    if row is None:
        return []
    cursor_id, last = row
    cursor.execute(
        f"SELECT id, topic, event_type, data, created_at, execution_id FROM {sql.EVENT} "
        "WHERE topic = %s AND project_id = %s AND id > %s ORDER BY id LIMIT %s",
        [topic, project_id, last, MAX_EVENTS_PER_PASS],
    )
    events = [sql.event_record(r) for r in cursor.fetchall()]
    batches = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    if batches and len(batches[-1]) < batch_size:
        oldest = batches[-1][0].created_at
        if flush_before is None or oldest > flush_before:
            batches.pop()
    if not batches:
        return []
    store = get_store()
    created = []
    for batch in batches:
        payload = {"events": [event.as_payload() for event in batch]}
        request = NewExecution(
            workflow_id=workflow_id, payload=json.dumps(payload), project_id=project_id, queue_name=queue_name
        )
        created.append(store._insert_execution(cursor, request, None, None))
    cursor.execute(
        f"UPDATE {CURSOR} SET last_sequence = %s, updated_at = %s WHERE id = %s",
        [batches[-1][-1].sequence_id, sql.now_param(), cursor_id],
    )
    return created


def sweep(now: dt.datetime | None = None) -> int:
    """Consume what publishers left (timed-out partial batches, crashed publishers); returns executions started."""
    now = now or utcnow()
    started = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.workflow_id, t.batch_size, t.batch_timeout_seconds, t.queue_name, t.topic, c.project_id "
            f"FROM {TRIGGER} t JOIN {CURSOR} c ON c.trigger_id = t.id WHERE EXISTS (SELECT 1 FROM {sql.EVENT} e "
            "WHERE e.topic = t.topic AND e.project_id = c.project_id AND e.id > c.last_sequence) LIMIT 200"
        )
        for row in cursor.fetchall():
            trigger, topic, project_id = row[:5], row[5], row[6]
            timeout = trigger[3]
            flush_before = now - dt.timedelta(seconds=float(timeout)) if timeout else None
            with transaction.atomic():
                sql.lock_topic(cursor, topic)
                started += len(consume(cursor, trigger, topic, project_id, flush_before=flush_before))
    return started
