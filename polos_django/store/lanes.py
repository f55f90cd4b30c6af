"""Concurrency lanes: admission at claim time and ringing the next executions of a lane.

A lane is (queue name, concurrency key).  An execution created with a concurrency limit is claimed
by one statement whose ``WHERE`` also admits it: the lane's running executions plus its queued
ones ahead (higher priority first, FIFO within a priority) must leave a slot for it.  On SQLite
writers are serialized, so that statement is the whole story.  On PostgreSQL two claims of one
lane can run at the same moment and each see the other's slot as free, so a claim is followed by
a check (:func:`verify_sql`): a fresh statement that sees every claim committed before it; a claim
that finds the lane over its limit backs off (the execution is queued again).  Of claims racing
each other at least the last one to check sees all the others, so the limit always holds; in the
worst case an execution backs off that could have run, and is rung again.  The check rides on the
claim's next statement (loading the steps), so a limited claim costs no extra round trip.

Doorbells of a limited lane are rationed.  ``rung_at`` is ``NULL`` while an execution has no
doorbell outstanding: at creation only the lane's free slots are rung (so a flood of one tenant
waits in the database, not in the Celery queue in front of everybody else's messages), and a
refused claim gives its doorbell back.  Whenever a running execution of the lane stops running
(:func:`ring_next`), the heads of the lane (as many as there are free slots) that have no doorbell
outstanding are rung.  The reaper does the same for every lane with such executions, and re-rings
heads whose doorbell was lost, so nothing spins and nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction

from polos.queues import declared_limit
from polos.store import QUEUED, RUNNING, ExecutionRecord

from ..conf import polos_settings
from . import handoff, sql

logger = logging.getLogger("polos.lanes")


# SQLite: ``id IN ((SELECT ...))`` would compare with a scalar subquery (its first row only), so the
# list of ids is a derived table (the parentheses balance PostgreSQL's ``= ANY(ARRAY(``).
_SQLITE_IN = "IN (SELECT id FROM ("


def configured_limit(queue_name: str | None) -> int | None:
    """The limit of a queue routed to by name: ``POLOS["QUEUES"]``, else as declared in this process."""
    if queue_name is None:
        return None
    configured = (polos_settings.QUEUES or {}).get(queue_name)
    if isinstance(configured, dict) and configured.get("concurrency_limit") is not None:
        return int(configured["concurrency_limit"])
    return declared_limit(queue_name)


def _lane(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return (
        f"{prefix}queue_name = %s AND COALESCE({prefix}concurrency_key, '') = %s "
        f"AND {prefix}concurrency_limit IS NOT NULL"
    )


def admission(queue_name: str | None, concurrency_key: str | None, limit: int) -> tuple[str, list[Any]]:
    """SQL (and parameters) for a claim's ``WHERE``: the row is in this lane and among its first
    queued executions (higher priority first, then older) that fit in its free slots.

    Index range scans on ``polos_exec_lane_idx``, bounded by the limit.
    """
    bound = "GREATEST" if sql.is_postgres() else "MAX"
    lane = [queue_name, concurrency_key or ""]
    match = "= ANY(ARRAY(" if sql.is_postgres() else _SQLITE_IN
    return (
        f"{_lane()} AND concurrency_limit = %s AND id {match}SELECT id FROM {sql.EXECUTION} WHERE {_lane()} "
        "AND status = %s ORDER BY priority DESC, created_at, id "
        f"LIMIT (SELECT {bound}(0, %s - COUNT(*)) FROM {sql.EXECUTION} WHERE {_lane()} AND status = %s)))",
        [*lane, limit, *lane, QUEUED, limit, *lane, RUNNING],
    )


def lane_of(cursor: Any, execution_id: str) -> tuple[str | None, str | None, int] | None:
    """The lane of a queued execution with a concurrency limit (``None`` otherwise)."""
    cursor.execute(
        f"SELECT queue_name, concurrency_key, concurrency_limit FROM {sql.EXECUTION} "
        "WHERE id = %s AND status = %s AND concurrency_limit IS NOT NULL",
        [execution_id, QUEUED],
    )
    row = cursor.fetchone()
    return (row[0], row[1], int(row[2])) if row else None


def verify_sql(record: ExecutionRecord, token: int) -> tuple[str, list[Any]]:
    """PostgreSQL, after a limited claim committed: an ``UPDATE`` that backs the claim off if its
    lane is over the limit (queued again, without a doorbell), ``RETURNING id`` when it did.

    It runs as a fresh statement, so it sees every claim committed before it.  The store runs it
    in the same round trip as the claim's next statement (``load_steps``).
    """
    lane = [record.queue_name, record.concurrency_key or ""]
    return (
        f"UPDATE {sql.EXECUTION} SET status = %s, lease_owner = NULL, lease_expires_at = NULL, rung_at = NULL "
        f"WHERE id = %s AND lease_token = %s AND status = %s AND concurrency_limit < "
        f"(SELECT COUNT(*) FROM {sql.EXECUTION} WHERE {_lane()} AND status = %s) RETURNING id",
        [QUEUED, record.id, token, RUNNING, *lane, RUNNING],
    )


def backed_off(record: ExecutionRecord) -> None:
    """A claim backed off (see :func:`verify_sql`): ring the lane's free slots."""
    logger.info("execution %s backed off: a concurrent claim took the last slot of its lane", record.id)
    ring_lane(record.queue_name, record.concurrency_key, int(record.concurrency_limit or 0))


def give_back(execution_id: str) -> None:
    """A limited claim was refused: the doorbell is spent; make sure the lane's heads get rung."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {sql.EXECUTION} SET rung_at = NULL WHERE id = %s AND status = %s "
            "AND concurrency_limit IS NOT NULL RETURNING queue_name, concurrency_key, concurrency_limit",
            [execution_id, QUEUED],
        )
        row = cursor.fetchone()
    if row is not None:
        ring_lane(row[0], row[1], int(row[2]))


def heads_update_sql(*, stale: bool = False, extra_free: int = 0) -> str:
    """An ``UPDATE`` (without ``RETURNING``) marking the lane's next queued executions (as many as
    it has free slots, plus ``extra_free``) that have no doorbell outstanding (or, with ``stale``,
    a lost one) as rung.  Parameters: :func:`heads_params` (then the stale cutoff, twice)."""
    outstanding = "(e.rung_at IS NULL OR e.rung_at < %s)" if stale else "e.rung_at IS NULL"
    postgres = sql.is_postgres()
    bound = "GREATEST" if postgres else "MAX"
    # PostgreSQL: = ANY(ARRAY(...)) keeps the update on the primary key (IN may become a hash join
    # over the whole table).
    match = "= ANY(ARRAY(" if postgres else _SQLITE_IN
    return (
        f"UPDATE {sql.EXECUTION} SET rung_at = %s WHERE id {match}SELECT e.id FROM ("
        f"SELECT id, rung_at FROM {sql.EXECUTION} WHERE {_lane()} AND status = %s "
        "ORDER BY priority DESC, created_at, id "
        f"LIMIT (SELECT {bound}(0, %s + {int(extra_free)} - COUNT(*)) FROM {sql.EXECUTION} "
        f"WHERE {_lane()} AND status = %s)) e WHERE {outstanding})) "
        # Again on the row itself: a concurrent ring that got there first is seen once its lock is
        # released (PostgreSQL re-checks only the outer WHERE), so a head is not rung twice.
        f"AND {outstanding.replace('e.', '')}"
    )


def heads_params(queue_name: str | None, concurrency_key: str | None, limit: int) -> list[Any]:
    lane = [queue_name, concurrency_key or ""]
    return [sql.now_param(), *lane, QUEUED, limit, *lane, RUNNING]


def ring_heads(
    cursor: Any, queue_name: str | None, concurrency_key: str | None, limit: int, *, stale_before: Any = None
) -> int:
    """Ring the lane's next queued executions, as many as it has free slots, that have no doorbell
    outstanding (or one rung before ``stale_before``, when the reaper looks for lost ones).

    Runs without a lane lock: a refusal committed meanwhile may be missed (that execution is rung by
    the next release or the reaper's sweep), and a doorbell may be sent twice (harmless).
    """
    params = heads_params(queue_name, concurrency_key, limit)
    if stale_before is not None:
        params += [stale_before, stale_before]
    cursor.execute(heads_update_sql(stale=stale_before is not None) + " RETURNING id", params)
    ids = [row[0] for row in cursor.fetchall()]
    top = None
    if handoff.active() is not None:  # a run task that can take the lane's next execution itself
        top_query, top_params = top_sql(queue_name, concurrency_key, limit)
        cursor.execute(top_query, top_params)
        row = cursor.fetchone()
        top = row[0] if row else None
    if ids or top:
        lane = (queue_name, concurrency_key, limit)
        transaction.on_commit(lambda: handoff.dispatch(ids, queue_name, lane, top))
    return len(ids)


def first_rung_sql(queue_name: str | None, concurrency_key: str | None) -> tuple[str, list[Any]]:
    """A scalar subquery: the id of the lane's first queued execution (priority, then age) that has
    been rung, for a doorbell whose own execution was taken already."""
    # PostgreSQL: concurrent claims skip the row another one is taking (SQLite serializes writers).
    skip = " FOR UPDATE SKIP LOCKED" if sql.is_postgres() else ""
    return (
        f"(SELECT id FROM {sql.EXECUTION} WHERE {_lane()} AND status = %s AND rung_at IS NOT NULL "
        f"ORDER BY priority DESC, created_at, id LIMIT 1{skip})",
        [queue_name, concurrency_key or "", QUEUED],
    )


def top_sql(
    queue_name: str | None, concurrency_key: str | None, limit: int, *, extra_free: int = 0
) -> tuple[str, list[Any]]:
    """A ``SELECT id`` of the lane's first queued execution (priority, then age), if it has a free slot
    (counting ``extra_free`` more: a finish in the same statement)."""
    bound, least = ("GREATEST", "LEAST") if sql.is_postgres() else ("MAX", "MIN")
    lane = [queue_name, concurrency_key or ""]
    return (
        f"SELECT id FROM {sql.EXECUTION} WHERE {_lane()} AND status = %s ORDER BY priority DESC, created_at, id "
        f"LIMIT (SELECT {bound}(0, {least}(1, %s + {int(extra_free)} - COUNT(*))) FROM {sql.EXECUTION} "
        f"WHERE {_lane()} AND status = %s)",
        [*lane, QUEUED, limit, *lane, RUNNING],
    )


def ring_lane(queue_name: str | None, concurrency_key: str | None, limit: int) -> None:
    """Ring the lane's free slots now (one statement)."""
    with connection.cursor() as cursor:
        ring_heads(cursor, queue_name, concurrency_key, limit)


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
            rung += ring_heads(cursor, queue_name, concurrency_key, int(limit), stale_before=stale_before)
    return rung
