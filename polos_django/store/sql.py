"""Low-level helpers for the store's hand-written SQL (both PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from polos import serialization
from polos.store import EventRecord, ExecutionRecord, NewEvent, utcnow

EXECUTION = "polos_execution"
STEP = "polos_step"
WAIT = "polos_wait"
EVENT = "polos_event"

# Columns read into an ExecutionRecord, in order.
EXECUTION_COLUMNS = (
    "id",
    "workflow_id",
    "status",
    "payload",
    "project_id",
    "parent_execution_id",
    "root_execution_id",
    "root_workflow_id",
    "step_key",
    "batch_index",
    "session_id",
    "user_id",
    "queue_name",
    "concurrency_key",
    "workflow_type",
    "initial_state",
    "state",
    "concurrency_limit",
    "priority",
    "result",
    "error",
    "retry_count",
    "attempt",
    "run_timeout_seconds",
    "run_seconds",
    "cancel_requested",
    "created_at",
    "started_at",
    "finished_at",
)
EXECUTION_SELECT = ", ".join(EXECUTION_COLUMNS)
_DATETIME_FIELDS = {"created_at", "started_at", "finished_at"}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def db_time(value: dt.datetime | None) -> Any:
    """A datetime as the database driver wants it (text on SQLite, aware datetime on PostgreSQL)."""
    if value is None:
        return None
    return connection.ops.adapt_datetimefield_value(value)


def now_param() -> Any:
    return db_time(utcnow())


def read_time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) and value.tzinfo is None else value
    parsed = parse_datetime(value)
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def to_record(row: Sequence[Any]) -> ExecutionRecord:
    values = dict(zip(EXECUTION_COLUMNS, row, strict=True))
    for name in _DATETIME_FIELDS:
        values[name] = read_time(values[name])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return ExecutionRecord(**values)


# The advisory-lock key of a topic, computed in SQL so that statements can lock a topic they
# derive from a row (PostgreSQL 11+).
TOPIC_LOCK = "pg_advisory_xact_lock(hashtextextended({}, 0))"


def lock_topic(cursor: Any, topic: str) -> None:
    """Serialize event writers of one topic until commit, so sequence ids commit in order.

    SQLite needs nothing: its writers are already serialized.
    """
    if is_postgres():
        cursor.execute("SELECT " + TOPIC_LOCK.format("%s"), [topic])


def event_json(event: NewEvent) -> tuple[str, Any]:
    """The event's data as stored JSON text, and as plain data for live delivery."""
    try:  # the common case (trace events, plain dicts) needs a single dumps
        return json.dumps(event.data, separators=(",", ":"), allow_nan=False), event.data
    except (TypeError, ValueError):
        plain = serialization.to_jsonable(event.data)
        return serialization.dumps(plain), plain


def event_record(row: Sequence[Any]) -> EventRecord:
    sequence_id, topic, event_type, data, created_at, execution_id = row
    return EventRecord(
        sequence_id=int(sequence_id),
        topic=topic,
        event_type=event_type,
        data=json.loads(data) if data else None,
        created_at=read_time(created_at) or utcnow(),
        execution_id=execution_id,
    )
