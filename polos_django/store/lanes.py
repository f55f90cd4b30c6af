"""Concurrency lanes: admission at claim time and ringing the next execution of a lane.

A lane is (queue name, concurrency key).  Executions created with a concurrency limit are admitted
by :func:`claim_limited` in one transaction that serializes the lane (an advisory lock on
PostgreSQL; SQLite writers are serialized anyway), counts its *running* executions and the queued
ones ahead (higher priority first, FIFO within a priority), and claims only when a slot is free for
this one.  Everything else about an execution without a limit stays on the one-statement claim.

A refused execution stays ``queued`` and its doorbell is spent: it is rung again when a slot frees
(:func:`ring_next`, after whatever made a running execution of the lane stop running), and the
reaper re-rings the heads of lanes with free slots (:func:`ring_heads`), so nothing spins and
nothing is lost.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from polos.queues import declared_limit
from polos.store import QUEUED, RUNNING, ExecutionRecord

from .. import doorbell
from ..conf import polos_settings
from . import sql


def configured_limit(queue_name: str | None) -> int | None:
    """The limit of a queue routed to by name: ``POLOS["QUEUES"]``, else as declared in this process."""
    if queue_name is None:
        return None
    configured = (polos_settings.QUEUES or {}).get(queue_name)
    if isinstance(configured, dict) and configured.get("concurrency_limit") is not None:
        return int(configured["concurrency_limit"])
    return declared_limit(queue_name)


def _lane_filter(queue_name: str | None, concurrency_key: str | None) -> tuple[str, list[Any]]:
    where = "queue_name = %s AND concurrency_limit IS NOT NULL AND "
    params: list[Any] = [queue_name]
    if concurrency_key is None:
        where += "concurrency_key IS NULL"
    else:
        where += "concurrency_key = %s"
        params.append(concurrency_key)
    return where, params


def lock_lane(cursor: Any, queue_name: str | None, concurrency_key: str | None) -> None:
    """Serialize admissions of one lane until commit (PostgreSQL; SQLite writers are serialized)."""
    if sql.is_postgres():
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))",
            [f"lane\x1f{queue_name}\x1f{'' if concurrency_key is None else concurrency_key}"],
        )


def running_count(cursor: Any, queue_name: str | None, concurrency_key: str | None) -> int:
    where, params = _lane_filter(queue_name, concurrency_key)
    cursor.execute(f"SELECT COUNT(*) FROM {sql.EXECUTION} WHERE {where} AND status = %s", [*params, RUNNING])
    return int(cursor.fetchone()[0])


def heads(cursor: Any, queue_name: str | None, concurrency_key: str | None, count: int) -> list[str]:
    """The ids of the next ``count`` queued executions of a lane (highest priority, then oldest)."""
    if count <= 0:
        return []
    where, params = _lane_filter(queue_name, concurrency_key)
    cursor.execute(
        f"SELECT id FROM {sql.EXECUTION} WHERE {where} AND status = %s ORDER BY priority DESC, created_at, id LIMIT %s",
        [*params, QUEUED, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _ring_all(cursor: Any, ids: list[str], queue_name: str | None) -> None:
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    cursor.execute(f"UPDATE {sql.EXECUTION} SET rung_at = %s WHERE id IN ({marks})", [sql.now_param(), *ids])
    for execution_id in ids:
        transaction.on_commit(lambda e=execution_id: doorbell.ring(e, queue_name))


def claim_limited(
    execution_id: str, update: str, params: list[Any], *, write_start: Any
) -> tuple[ExecutionRecord, int] | None:
    """Claim a queued execution of a limited lane if a slot is free for it; ``None`` if refused.

    ``update`` / ``params`` are the claim's ``UPDATE ... RETURNING lease_token, <record>``;
    ``write_start(cursor, record)`` writes the ``workflow_start`` event of a first attempt.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT queue_name, concurrency_key, concurrency_limit, priority, created_at, status "
            f"FROM {sql.EXECUTION} WHERE id = %s",
            [execution_id],
        )
        row = cursor.fetchone()
        if row is None or row[5] != QUEUED or row[2] is None:
            return None
        queue_name, concurrency_key, limit, priority, created_at, _ = row
        lock_lane(cursor, queue_name, concurrency_key)
        running = running_count(cursor, queue_name, concurrency_key)
        free = int(limit) - running
        if free <= 0:
            return None
        where, lane_params = _lane_filter(queue_name, concurrency_key)
        cursor.execute(
            f"SELECT COUNT(*) FROM {sql.EXECUTION} WHERE {where} AND status = %s AND id <> %s AND "
            "(priority > %s OR (priority = %s AND (created_at < %s OR (created_at = %s AND id < %s))))",
            [*lane_params, QUEUED, execution_id, priority, priority, created_at, created_at, execution_id],
        )
        ahead = int(cursor.fetchone()[0])
        if ahead >= free:
            # Others come first: make sure they are rung (their doorbells may be spent).
            _ring_all(cursor, heads(cursor, queue_name, concurrency_key, free), queue_name)
            return None
        cursor.execute(update, params)
        claimed = cursor.fetchone()
        if claimed is None:
            return None
        record = sql.to_record(claimed[1:])
        if record.attempt == 1:
            write_start(cursor, record)
        return record, int(claimed[0])


def ring_next(record: ExecutionRecord) -> None:
    """A running execution of a limited lane stopped running: ring the lane's next ones.

    Call after the commit that released the slot (or register it with ``transaction.on_commit``).
    """
    if record.concurrency_limit is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        ring_heads(cursor, record.queue_name, record.concurrency_key, int(record.concurrency_limit))


def ring_heads(cursor: Any, queue_name: str | None, concurrency_key: str | None, limit: int) -> int:
    """Ring as many queued executions of a lane as it has free slots (inside a transaction)."""
    free = limit - running_count(cursor, queue_name, concurrency_key)
    ids = heads(cursor, queue_name, concurrency_key, free)
    _ring_all(cursor, ids, queue_name)
    return len(ids)


def after_release(record: ExecutionRecord) -> None:
    """Register :func:`ring_next` to run after the current transaction commits (if the lane is limited)."""
    if record.concurrency_limit is not None:
        transaction.on_commit(lambda: ring_next(record))
