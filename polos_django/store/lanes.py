"""Concurrency lanes: admission at claim time and ringing the next execution of a lane.

A lane is (queue name, concurrency key).  Executions created with a concurrency limit are admitted
by :func:`claim_limited` in one transaction that serializes the lane (an advisory lock on
PostgreSQL; SQLite writers are serialized anyway), counts its *running* executions and the queued
ones ahead (higher priority first, FIFO within a priority), and claims only when a slot is free for
this one.  Everything else about an execution without a limit stays on the one-statement claim.

Doorbells of a limited lane are rationed.  ``rung_at`` is ``NULL`` while an execution has no
doorbell outstanding: at creation only the lane's free slots are rung (so a flood of one tenant
waits in the database, not in the Celery queue in front of everybody else's messages), and a
refused claim gives its doorbell back.  Whenever a running execution of the lane stops running
(:func:`ring_next`) the heads of the lane (as many as there are free slots) that have no doorbell
outstanding are rung.  The reaper does the same for every lane with such executions, and re-rings
heads whose doorbell was lost, so nothing spins and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from polos.queues import declared_limit
from polos.store import QUEUED, RUNNING, Claim, ExecutionRecord

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


def _lock_key(queue_name: str | None, concurrency_key: str | None) -> str:
    return f"lane\x1f{queue_name or ''}\x1f{concurrency_key or ''}"


def lock_lane(cursor: Any, queue_name: str | None, concurrency_key: str | None, *, async_commit: bool = False) -> None:
    """Serialize admissions of one lane until commit (PostgreSQL; SQLite writers are serialized).

    ``async_commit``: also commit this transaction without waiting for the disk.  Admissions and
    rings are like claims: one lost in an OS crash only leaves an execution queued (and the reaper
    rings it again), so they need no flush before the worker goes on.
    """
    if sql.is_postgres():
        config = ", set_config('synchronous_commit', 'off', true)" if async_commit else ""
        cursor.execute(
            f"SELECT pg_advisory_xact_lock(hashtextextended(%s, 1)){config}", [_lock_key(queue_name, concurrency_key)]
        )


def ring_heads(
    cursor: Any,
    queue_name: str | None,
    concurrency_key: str | None,
    limit: int,
    *,
    stale_before: Any = None,
    async_commit: bool = False,
) -> int:
    """Ring the next queued executions of a lane, as many as it has free slots, that have no doorbell
    outstanding (or one rung before ``stale_before``, when the reaper looks for lost ones).

    Inside a transaction that holds the lane lock.
    """
    where, params = _lane_filter(queue_name, concurrency_key)
    # One round trip: the heads, as many as the lane has free slots.
    if sql.is_postgres():
        # The rung_at update below needs no disk flush (see lock_lane).
        config = ", set_config('synchronous_commit', 'off', true)" if async_commit else ""
        bound = "GREATEST"
    else:
        config, bound = "", "MAX"
    cursor.execute(
        f"SELECT id, rung_at{config} FROM {sql.EXECUTION} WHERE {where} AND status = %s "
        "ORDER BY priority DESC, created_at, id "
        f"LIMIT (SELECT {bound}(0, %s - COUNT(*)) FROM {sql.EXECUTION} WHERE {where} AND status = %s)",
        [*params, QUEUED, limit, *params, RUNNING],
    )
    stale = sql.read_time(stale_before) if stale_before is not None else None
    ids = [
        execution_id
        for execution_id, rung_at, *_ in cursor.fetchall()
        if rung_at is None or (stale is not None and (sql.read_time(rung_at) or stale) < stale)
    ]
    if ids:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(f"UPDATE {sql.EXECUTION} SET rung_at = %s WHERE id IN ({marks})", [sql.now_param(), *ids])
        for execution_id in ids:
            transaction.on_commit(lambda e=execution_id: doorbell.ring(e, queue_name, limited=True))
    return len(ids)


def claim_limited(execution_id: str, claim: Callable[[str, list[Any]], Claim | None]) -> Claim | None:
    """Claim a queued execution of a limited lane if a slot is free for it; ``None`` if refused.

    ``claim(condition, params)`` runs the claim's compare-and-set with the admission condition
    added to its ``WHERE``: a fresh statement after the lane lock, so it counts everything
    committed before.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if sql.is_postgres():
            # One round trip: the lane, and its lock (taken only for a limited, queued execution).
            cursor.execute(
                f"SELECT queue_name, concurrency_key, concurrency_limit, priority, created_at, "
                "set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(hashtextextended("
                "'lane' || chr(31) || COALESCE(queue_name, '') || chr(31) || COALESCE(concurrency_key, ''), 1)) "
                f"FROM {sql.EXECUTION} WHERE id = %s AND status = %s AND concurrency_limit IS NOT NULL",
                [execution_id, QUEUED],
            )
        else:
            cursor.execute(
                f"SELECT queue_name, concurrency_key, concurrency_limit, priority, created_at "
                f"FROM {sql.EXECUTION} WHERE id = %s AND status = %s AND concurrency_limit IS NOT NULL",
                [execution_id, QUEUED],
            )
        row = cursor.fetchone()
        if row is None:
            return None
        queue_name, concurrency_key, limit, priority, created_at = row[:5]
        where, lane_params = _lane_filter(queue_name, concurrency_key)
        # Running ones plus queued ones ahead (higher priority, then older) must leave a slot.
        condition = (
            f"(SELECT COUNT(*) FROM {sql.EXECUTION} WHERE {where} AND (status = %s OR (status = %s AND "
            "(priority > %s OR (priority = %s AND (created_at < %s OR (created_at = %s AND id < %s))))))) < %s"
        )
        params = [*lane_params, RUNNING, QUEUED, priority, priority, created_at, created_at, execution_id, limit]
        claimed = claim(condition, params)
        if claimed is not None:
            return claimed
        # Refused: give the doorbell back (rung again when its turn comes) and make sure the ones
        # ahead are rung (their doorbells may have been given back too).
        cursor.execute(
            f"UPDATE {sql.EXECUTION} SET rung_at = NULL WHERE id = %s AND status = %s", [execution_id, QUEUED]
        )
        if cursor.rowcount:
            ring_heads(cursor, queue_name, concurrency_key, int(limit))
        return None


def ring_lane(queue_name: str | None, concurrency_key: str | None, limit: int) -> None:
    """Ring the lane's free slots now (in its own transaction).

    Without the lane lock: a refusal committed meanwhile may be missed (that execution is then rung
    by the next release or the reaper's sweep), and a doorbell may be sent twice (harmless).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        ring_heads(cursor, queue_name, concurrency_key, limit, async_commit=True)


def ring_next(record: ExecutionRecord) -> None:
    """A running execution of a limited lane stopped running (committed): ring the lane's next ones."""
    if record.concurrency_limit is not None:
        ring_lane(record.queue_name, record.concurrency_key, int(record.concurrency_limit))


def after_release(record: ExecutionRecord) -> None:
    """Register :func:`ring_next` to run after the current transaction commits (if the lane is limited)."""
    if record.concurrency_limit is not None:
        transaction.on_commit(lambda: ring_next(record))


def ring_heads_after_commit(queue_name: str | None, concurrency_key: str | None, limit: int) -> None:
    """After the current transaction commits, ring the lane's free slots (once per lane and commit)."""
    lane = (queue_name, concurrency_key)
    # Registered callbacks are dropped with a rollback, so looking in the list keeps no stale state.
    if any(getattr(entry[1], "polos_lane", None) == lane for entry in connection.run_on_commit):
        return

    def ring() -> None:
        ring_lane(queue_name, concurrency_key, limit)

    ring.polos_lane = lane  # type: ignore[attr-defined]
    transaction.on_commit(ring)


def sweep(cursor: Any, stale_before: Any) -> int:
    """Reaper: ring the free slots of every lane with executions lacking a doorbell or holding a lost one."""
    cursor.execute(
        f"SELECT DISTINCT queue_name, concurrency_key, concurrency_limit FROM {sql.EXECUTION} "
        "WHERE status = %s AND concurrency_limit IS NOT NULL AND (rung_at IS NULL OR rung_at < %s)",
        [QUEUED, stale_before],
    )
    rung = 0
    for queue_name, concurrency_key, limit in cursor.fetchall()[:200]:
        with transaction.atomic():
            lock_lane(cursor, queue_name, concurrency_key)
            rung += ring_heads(cursor, queue_name, concurrency_key, int(limit), stale_before=stale_before)
    return rung
