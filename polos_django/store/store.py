"""``DjangoStore``: executions, steps, waits and events in the Django database.

Hot path (per step): one statement on PostgreSQL (a CTE that checks the fencing token, records the
step and its ``step_finish`` event), one short transaction on SQLite.  Everything else runs in
``transaction.atomic()``; doorbells and live events go out only after commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any, NoReturn

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction

from polos import ratelimit
from polos.exceptions import (
    ExecutionNotFoundError,
    InvalidStateError,
    LeaseLost,
    NotResumableError,
    WorkflowCancelled,
)
from polos.steps import WAIT, timeout_error
from polos.store import (
    CANCELLED,
    FINISHED_STATUSES,
    QUEUED,
    RUNNING,
    STEP_FAILED,
    WAIT_BATCH,
    WAIT_CHILD,
    WAIT_EVENT,
    WAIT_RETRY,
    WAIT_SUSPEND,
    WAIT_TIMER,
    WAITING,
    Claim,
    EventRecord,
    ExecutionRecord,
    ExecutionStore,
    NewEvent,
    NewExecution,
    ReapReport,
    ResumeRequest,
    StepRecord,
    StepWrite,
    WaitSpec,
    utcnow,
)

from .. import doorbell, live
from ..conf import polos_settings
from ..forking import database_work
from ..notify import recovery as notify_recovery
from . import cancels, handoff, lanes, sql, stepfn, triggers
from .events import TRACE_EVENT_TYPES, insert_events, wake_event_waits
from .lanes import configured_limit
from .running import running_task
from .wakeups import FINISHED_SQL, finish_event, finish_row, insert_step, requeue, satisfy, wake_parent

logger = logging.getLogger("polos.store")

CANCELLED_ERROR = json.dumps({"message": "cancelled", "type": "WorkflowCancelled"})


class DjangoStore(ExecutionStore):
    """The execution store of ``polos_django`` (see module docstring)."""

    # --- creating and reading ------------------------------------------------------------------

    def _insert_execution(
        self, cursor: Any, new: NewExecution, parent: ExecutionRecord | None, step_key: str | None
    ) -> ExecutionRecord:
        now = utcnow()
        execution_id = new.id or str(uuid.uuid4())
        record = ExecutionRecord(
            id=execution_id,
            workflow_id=new.workflow_id,
            status=QUEUED,
            payload=new.payload,
            project_id=parent.project_id if parent else new.project_id,
            parent_execution_id=parent.id if parent else None,
            root_execution_id=(parent.root_execution_id or parent.id) if parent else execution_id,
            root_workflow_id=(parent.root_workflow_id or parent.workflow_id) if parent else new.workflow_id,
            step_key=step_key,
            batch_index=new.batch_index,
            session_id=new.session_id,
            user_id=new.user_id,
            queue_name=new.queue_name,
            concurrency_key=new.concurrency_key,
            workflow_type=new.workflow_type,
            initial_state=new.initial_state,
            run_timeout_seconds=new.run_timeout_seconds,
            created_at=now,
            concurrency_limit=new.concurrency_limit
            if new.concurrency_limit is not None
            else configured_limit(new.queue_name),
            priority=new.priority,
        )
        now_db = sql.db_time(now)
        cursor.execute(
            f"INSERT INTO {sql.EXECUTION} (id, project_id, workflow_id, workflow_type, status, payload, "
            "initial_state, parent_execution_id, root_execution_id, root_workflow_id, step_key, batch_index, "
            "session_id, user_id, queue_name, concurrency_key, retry_count, attempt, run_timeout_seconds, "
            "run_seconds, cancel_requested, lease_token, rung_at, created_at, concurrency_limit, priority) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 0, %s, 0, %s, 0, %s, %s, "
            "%s, %s)",
            [
                record.id,
                record.project_id,
                record.workflow_id,
                record.workflow_type,
                QUEUED,
                record.payload,
                record.initial_state,
                record.parent_execution_id,
                record.root_execution_id,
                record.root_workflow_id,
                step_key,
                record.batch_index,
                record.session_id,
                record.user_id,
                record.queue_name,
                record.concurrency_key,
                record.run_timeout_seconds,
                False,
                None if record.concurrency_limit is not None else now_db,  # rung_at: see lanes
                now_db,
                record.concurrency_limit,
                record.priority,
            ],
        )
        queue_name = record.queue_name
        if record.concurrency_limit is not None:
            # Only as many doorbells as the lane has free slots: a flood of one tenant then waits in
            # the database, not in the Celery queue in front of everybody else's messages.
            lanes.ring_heads_after_commit(queue_name, record.concurrency_key, record.concurrency_limit)
        else:
            priority = record.priority
            transaction.on_commit(lambda: doorbell.ring(execution_id, queue_name, priority=priority))
        return record

    def create_executions(self, requests: Sequence[NewExecution]) -> list[ExecutionRecord]:
        with transaction.atomic(), connection.cursor() as cursor:
            return [self._insert_execution(cursor, r, None, None) for r in requests]

    def get_execution(self, execution_id: str, project_id: str | None = None) -> ExecutionRecord | None:
        query = f"SELECT {sql.EXECUTION_SELECT} FROM {sql.EXECUTION} WHERE id = %s"
        params: list[Any] = [execution_id]
        if project_id is not None:
            query += " AND project_id = %s"
            params.append(project_id)
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            row = cursor.fetchone()
        return sql.to_record(row) if row else None

    def list_events(self, topic: str, after: int = 0, limit: int = 1000) -> list[EventRecord]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, topic, event_type, data, created_at, execution_id FROM {sql.EVENT} "
                "WHERE topic = %s AND id > %s ORDER BY id LIMIT %s",
                [topic, after, limit],
            )
            return [sql.event_record(row) for row in cursor.fetchall()]

    # --- running -------------------------------------------------------------------------------

    def claim(self, execution_id: str, owner: str, lease_seconds: float) -> Claim | None:
        claim = self._claim(execution_id, owner, lease_seconds)
        if claim is not None and claim.execution.attempt == 1 and claim.execution.queue_name:
            # A queue's rate limit counts started executions (bucket "queue:<name>").
            ratelimit.acquire_sync(f"queue:{claim.execution.queue_name}")
        return claim

    def _claim(self, execution_id: str, owner: str, lease_seconds: float) -> Claim | None:
        now = utcnow()
        expires = now + dt.timedelta(seconds=lease_seconds)

        # Executions of a limited lane are admitted by lanes.claim_limited: this first statement
        # claims only unlimited ones (and takes over expired leases, which already hold a slot).
        hint = getattr(running_task, "lane", None)  # the doorbell says: this limited lane
        if hint:
            lane = (hint[0], hint[1], int(hint[2]))
            # A limited lane's doorbell stands for a slot: if its execution was taken already (handed
            # off to a run task, or this doorbell is a duplicate), it claims the lane's first rung
            # execution instead (see store.handoff).  On PostgreSQL twice: two claims may race for
            # one row (SQLite serializes writers).
            for _ in range(2 if sql.is_postgres() else 1):
                claim = self._claim_statement(execution_id, owner, now, expires, lane=lane, or_first_rung=True)
                if claim is not None:
                    return claim
        claim = self._claim_statement(execution_id, owner, now, expires)
        if claim is None and not hint:
            with connection.cursor() as cursor:
                lane_found = lanes.lane_of(cursor, execution_id)
            if lane_found is not None:
                claim = self._claim_statement(execution_id, owner, now, expires, lane=lane_found)
        if claim is None:
            lanes.give_back(execution_id)  # a no-op unless a limited lane refused it
        return claim

    def _claim_statement(
        self,
        execution_id: str | None,
        owner: str,
        now: dt.datetime,
        expires: dt.datetime,
        *,
        lane: tuple[str | None, str | None, int] | None = None,
        or_first_rung: bool = False,
    ) -> Claim | None:
        """The claim's compare-and-set (and, on a first attempt, the ``workflow_start`` event).

        ``lane``: claim a queued execution of this limited lane if the lane admits it (see
        :mod:`.lanes`); else a queued execution without a limit, or one whose lease expired.
        ``or_first_rung`` (with a lane): if ``execution_id`` is no longer queued, the lane's first rung
        execution instead.
        """
        now_db = sql.db_time(now)
        task_id = getattr(running_task, "id", None)
        params: list[Any] = [RUNNING, owner, sql.db_time(expires), now_db, task_id, now_db]
        target, target_params = "%s", [execution_id]
        if or_first_rung and lane is not None:
            first, first_params = lanes.first_rung_sql(lane[0], lane[1])
            target = f"COALESCE((SELECT id FROM {sql.EXECUTION} WHERE id = %s AND status = %s), {first})"
            target_params = [execution_id, QUEUED, *first_params]
        params += target_params
        # An attempt claimed after a cancel gets a grace period of its own before the hard kill
        # (store.cancels): it stops at its first boundary, and killing it there would only requeue it.
        update = (
            f"UPDATE {sql.EXECUTION} SET status = %s, lease_owner = %s, lease_token = lease_token + 1, "
            "lease_expires_at = %s, attempt = attempt + 1, started_at = COALESCE(started_at, %s), "
            "celery_task_id = %s, cancel_requested_at = CASE WHEN cancel_requested THEN %s "
            f"ELSE cancel_requested_at END WHERE id = {target} AND "
        )
        if lane is not None:
            condition, condition_params = lanes.admission(*lane)
            update += f"status = %s AND {condition} "
            params += [QUEUED, *condition_params]
        else:
            update += "((status = %s AND concurrency_limit IS NULL) OR (status = %s AND lease_expires_at < %s)) "
            params += [QUEUED, RUNNING, now_db]
        update += f"RETURNING lease_token, {sql.EXECUTION_SELECT}"
        with connection.cursor() as cursor:
            if sql.is_postgres():
                # One round trip: the claim and, on the first claim, the workflow_start event.
                topic = "'workflow/' || c.root_workflow_id || '/' || c.root_execution_id"
                cursor.execute(
                    f"WITH c AS ({update}), "
                    f"lk AS (SELECT {sql.TOPIC_LOCK.format(topic)} FROM c WHERE c.attempt = 1), "
                    f"ev AS (INSERT INTO {sql.EVENT} (project_id, topic, event_type, data, execution_id, created_at) "
                    f"SELECT c.project_id, {topic}, 'workflow_start', "
                    "json_build_object('execution_id', c.id, 'workflow_id', c.workflow_id)::text, c.id, %s "
                    "FROM c, lk RETURNING id, data) "
                    # A claim lost in an OS crash only leaves the execution queued (or its lease to
                    # expire): it needs no disk flush before the worker goes on, so it commits
                    # asynchronously.  Step records and finishes stay synchronous.
                    "SELECT c.*, (SELECT id FROM ev), (SELECT data FROM ev) "
                    "FROM c, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit",
                    [*params, now_db],
                )
                row = cursor.fetchone()
                if row is None:
                    return None
                record = sql.to_record(row[1:-2])
                if row[-2] is not None:
                    event = EventRecord(
                        int(row[-2]), record.topic, "workflow_start", json.loads(row[-1]), now, record.id
                    )
                    if connection.in_atomic_block:
                        transaction.on_commit(lambda: live.publish([event]))
                    else:
                        live.publish([event])
                claim = Claim(record, int(row[0]), owner, cancel_requested=record.cancel_requested)
                if lane is not None:
                    # Two claims of one lane may race: the check rides on the claim's next
                    # statement, load_steps (see lanes.verify_sql).
                    running_task.verify = claim
                return claim
            cursor.execute(update, params)
            row = cursor.fetchone()
            if row is None:
                return None
            record = sql.to_record(row[1:])
            if record.attempt == 1:
                with transaction.atomic():
                    insert_events(
                        cursor,
                        record.topic,
                        [NewEvent("workflow_start", {"execution_id": record.id, "workflow_id": record.workflow_id})],
                        execution_id=record.id,
                        project_id=record.project_id,
                    )
        return Claim(record, int(row[0]), owner, cancel_requested=record.cancel_requested)

    def load_steps(self, execution_id: str) -> dict[str, StepRecord]:
        pending = getattr(running_task, "verify", None)
        if pending is not None and pending.execution.id == execution_id:
            running_task.verify = None
            return self._load_steps_verified(pending)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT key, kind, status, output, error, state FROM {sql.STEP} WHERE execution_id = %s",
                [execution_id],
            )
            return {row[0]: StepRecord(*row) for row in cursor.fetchall()}

    def _load_steps_verified(self, claim: Claim) -> dict[str, StepRecord]:
        """Load the steps and, in the same round trip, check a limited claim (see ``lanes.verify``).

        A claim that must back off is marked lost: the run stops before its first step.
        """
        verify_sql, verify_params = lanes.verify_sql(claim.execution, claim.token)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v AS ({verify_sql}) "
                f"SELECT key, kind, status, output, error, state, (SELECT COUNT(*) FROM v) FROM {sql.STEP} "
                "WHERE execution_id = %s UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, (SELECT COUNT(*) FROM v)",
                [*verify_params, claim.execution.id],
            )
            rows = cursor.fetchall()
        if rows and rows[-1][6]:
            claim.lost = True
            lanes.backed_off(claim.execution)
        return {row[0]: StepRecord(*row[:6]) for row in rows if row[0] is not None}

    def record_step(self, claim: Claim, write: StepWrite) -> list[ExecutionRecord]:
        simple = (
            not write.children and not write.resumes and all(e.event_type in TRACE_EVENT_TYPES for e in write.events)
        )
        try:
            if simple:
                self._record_simple(claim, write)
                return []
            return self._record_general(claim, write)
        except IntegrityError:
            # The key is already recorded: another worker took this execution over and got there first.
            claim.lost = True
            raise LeaseLost(claim.execution.id) from None

    def _record_simple(self, claim: Claim, write: StepWrite) -> None:
        record = claim.execution
        step = write.step
        now = utcnow()
        now_db = sql.db_time(now)
        events = list(write.events)
        if sql.is_postgres():
            # One round trip: fence, step row and its trace event, committed together.
            event_values = ", ".join(["(%s, %s)"] * len(events)) or None
            params: list[Any] = [record.id, claim.token, RUNNING, False, record.topic]
            params += [record.id, step.key, step.kind, step.status, step.output, step.error, step.state, now_db]
            query = (
                f"WITH fence AS (SELECT id FROM {sql.EXECUTION} "
                "WHERE id = %s AND lease_token = %s AND status = %s AND cancel_requested = %s), "
                f"lk AS (SELECT {sql.TOPIC_LOCK.format('%s')} FROM fence), "
                f"st AS (INSERT INTO {sql.STEP} (execution_id, key, kind, status, output, error, state, created_at) "
                "SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM fence, lk RETURNING id) "
            )
            if event_values:
                query += (
                    f"INSERT INTO {sql.EVENT} (project_id, topic, event_type, data, execution_id, created_at) "
                    "SELECT %s, %s, v.event_type, v.data, %s, %s "
                    f"FROM st, (VALUES {event_values}) AS v(event_type, data) "
                    "RETURNING id, event_type, data"
                )
                params += [record.project_id, record.topic, record.id, now_db]
                for event in events:
                    params += [event.event_type, sql.event_json(event)[0]]
            else:
                query += "SELECT id, NULL, NULL FROM st"
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                rows = cursor.fetchall()
            if not rows:
                self._refused(claim)
            if event_values:
                live.publish(
                    [EventRecord(int(r[0]), record.topic, r[1], json.loads(r[2]), now, record.id) for r in rows]
                )
            return
        if not connection.in_atomic_block:
            self._record_simple_sqlite(claim, write, now)
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {sql.STEP} (execution_id, key, kind, status, output, error, state, created_at) "
                f"SELECT %s, %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM {sql.EXECUTION} "
                "WHERE id = %s AND lease_token = %s AND status = %s AND cancel_requested = %s)",
                [
                    record.id,
                    step.key,
                    step.kind,
                    step.status,
                    step.output,
                    step.error,
                    step.state,
                    now_db,
                    record.id,
                    claim.token,
                    RUNNING,
                    False,
                ],
            )
            if cursor.rowcount != 1:
                self._refused(claim)
            insert_events(cursor, record.topic, events, execution_id=record.id, project_id=record.project_id)

    _SQLITE_STEP = (
        f"INSERT INTO {sql.STEP} (execution_id, key, kind, status, output, error, state, created_at) "
        f"SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM {sql.EXECUTION} "
        "WHERE id = ? AND lease_token = ? AND status = ? AND cancel_requested = 0)"
    )
    _SQLITE_EVENT = (
        f"INSERT INTO {sql.EVENT} (project_id, topic, event_type, data, execution_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )

    def _record_simple_sqlite(self, claim: Claim, write: StepWrite, now: dt.datetime) -> None:
        """The SQLite hot path on the driver connection: one short ``BEGIN IMMEDIATE`` transaction.

        Django's cursor wrapper and ``atomic()`` cost more than the two inserts themselves; this path
        is only taken in autocommit mode (never inside a caller's transaction).
        """
        record = claim.execution
        step = write.step
        now_db = sql.db_time(now)
        connection.ensure_connection()
        cursor = connection.connection.cursor()
        written = []
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(
                self._SQLITE_STEP,
                (
                    record.id,
                    step.key,
                    step.kind,
                    step.status,
                    step.output,
                    step.error,
                    step.state,
                    now_db,
                    record.id,
                    claim.token,
                    RUNNING,
                ),
            )
            if cursor.rowcount != 1:
                cursor.execute("ROLLBACK")
                self._refused(claim)
            for event in write.events:
                data, plain = sql.event_json(event)
                cursor.execute(
                    self._SQLITE_EVENT, (record.project_id, record.topic, event.event_type, data, record.id, now_db)
                )
                written.append(EventRecord(cursor.lastrowid, record.topic, event.event_type, plain, now, record.id))
            cursor.execute("COMMIT")
        except BaseException:
            if connection.connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
        live.publish(written)

    def _fence(self, cursor: Any, claim: Claim) -> None:
        """Check (and on PostgreSQL lock) the claimed row inside a transaction."""
        cursor.execute(
            f"UPDATE {sql.EXECUTION} SET lease_token = lease_token "
            "WHERE id = %s AND lease_token = %s AND status = %s AND cancel_requested = %s",
            [claim.execution.id, claim.token, RUNNING, False],
        )
        if cursor.rowcount != 1:
            self._refused(claim)

    def _refused(self, claim: Claim) -> NoReturn:
        """A fenced write matched no row: the run was cancelled, or the lease is gone."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT lease_token, status, cancel_requested FROM {sql.EXECUTION} WHERE id = %s",
                [claim.execution.id],
            )
            row = cursor.fetchone()
        if row is not None and int(row[0]) == claim.token and row[1] == RUNNING and row[2]:
            claim.cancel_requested = True
            raise WorkflowCancelled(claim.execution.id)
        claim.lost = True
        raise LeaseLost(claim.execution.id)

    def _record_events_pg(self, claim: Claim, write: StepWrite) -> None:
        """PostgreSQL: a step with user events (``publish_event``) in one call of ``polos_record_step``.

        The function fences, locks the topics, writes the step and the events and wakes the event
        waits (see :mod:`.stepfn`).  In autocommit mode that is one round trip, commit included;
        events on a non-workflow topic may start event-triggered workflows, so those are written in
        a transaction that also runs the triggers.
        """
        record = claim.execution
        step = write.step
        now = utcnow()
        events = list(write.events)
        topics = [e.topic or record.topic for e in events]
        encoded = [sql.event_json(e) for e in events]
        params = [
            record.id,
            claim.token,
            step.key,
            step.kind,
            step.status,
            step.output,
            step.error,
            step.state,
            record.project_id,
            sql.db_time(now),
            now.isoformat(),
            topics,
            [e.event_type for e in events],
            [data for data, _ in encoded],
            [e.event_type not in TRACE_EVENT_TYPES for e in events],
        ]
        query = (
            f"SELECT r_kind, r_id, r_a, r_b, r_c, r_d FROM {stepfn.NAME}(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s::text[], %s::text[], %s::text[], %s::boolean[])"
        )
        triggered = sorted({t for t in topics if not t.startswith("workflow/")})
        with transaction.atomic() if triggered else nullcontext(), connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
            if not rows:
                self._refused(claim)
            written = []
            for kind, sequence_id, a, b, c, d in rows:
                if kind == "e":
                    plain = encoded[len(written)][1]
                    written.append(EventRecord(int(sequence_id), a, b, plain, now, record.id))
                else:  # a woken execution; its priority rides in the id column
                    lane = (b, c, int(d)) if d is not None else None
                    transaction.on_commit(partial(doorbell.ring, a, b, lane=lane, priority=int(sequence_id)))
            for topic in triggered:
                first = min(e.sequence_id for e in written if e.topic == topic)
                triggers.on_publish(cursor, topic, record.project_id, first)
            transaction.on_commit(lambda: live.publish(written))

    def _record_general(self, claim: Claim, write: StepWrite) -> list[ExecutionRecord]:
        record = claim.execution
        if write.events and not write.children and not write.resumes and sql.is_postgres():
            self._record_events_pg(claim, write)
            return []
        with transaction.atomic(), connection.cursor() as cursor:
            self._fence(cursor, claim)
            for resume in write.resumes:
                self._resume(cursor, resume, None)
            insert_step(cursor, record.id, write.step)
            children = [self._insert_execution(cursor, c, record, write.step.key) for c in write.children]
            insert_events(cursor, record.topic, write.events, execution_id=record.id, project_id=record.project_id)
        return children

    def wait(self, claim: Claim, spec: WaitSpec, run_seconds: float) -> list[ExecutionRecord]:
        record = claim.execution
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {sql.EXECUTION} SET status = %s, lease_owner = NULL, lease_expires_at = NULL, "
                "run_seconds = run_seconds + %s, state = COALESCE(%s, state) "
                "WHERE id = %s AND lease_token = %s AND status = %s AND cancel_requested = %s",
                [WAITING, run_seconds, spec.state, record.id, claim.token, RUNNING, False],
            )
            if cursor.rowcount != 1:
                self._refused(claim)
            after = 0
            if spec.kind == WAIT_EVENT and spec.topic:
                # Under the topic lock: an event is either counted here or sees this wait.
                sql.lock_topic(cursor, spec.topic)
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {sql.EVENT} WHERE topic = %s", [spec.topic])
                after = cursor.fetchone()[0]
            cursor.execute(
                f"INSERT INTO {sql.WAIT} (execution_id, kind, step_key, due_at, expires_at, topic, after_sequence, "
                "notify_due_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    record.id,
                    spec.kind,
                    spec.step_key,
                    sql.db_time(spec.due_at),
                    sql.db_time(spec.expires_at),
                    spec.topic,
                    after,
                    sql.db_time(notify_recovery.due_at(utcnow())) if spec.kind == WAIT_SUSPEND else None,
                    sql.now_param(),
                ],
            )
            insert_events(cursor, record.topic, spec.events, execution_id=record.id, project_id=record.project_id)
            children = [self._insert_execution(cursor, c, record, spec.step_key) for c in spec.children]
            lanes.after_release(record)
        return children

    def finish(
        self,
        claim: Claim,
        status: str,
        *,
        result: str | None = None,
        error: str | None = None,
        state: str | None = None,
        run_seconds: float = 0.0,
    ) -> None:
        record = claim.execution
        if sql.is_postgres() and not (record.parent_execution_id and record.step_key):
            self._finish_root(claim, status, result=result, error=error, state=state, run_seconds=run_seconds)
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {sql.EXECUTION} SET status = %s, result = %s, error = %s, state = COALESCE(%s, state), "
                "run_seconds = run_seconds + %s, finished_at = %s, lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = %s AND lease_token = %s AND status = %s",
                [status, result, error, state, run_seconds, sql.now_param(), record.id, claim.token, RUNNING],
            )
            if cursor.rowcount != 1:
                claim.lost = True
                raise LeaseLost(record.id)
            finish_row(cursor, record, status, result=result, error=error)
            lanes.after_release(record)

    def _finish_root(
        self, claim: Claim, status: str, *, result: str | None, error: str | None, state: str | None, run_seconds: float
    ) -> None:
        """Finish an execution without a waiting parent in one statement (PostgreSQL)."""
        record = claim.execution
        now = utcnow()
        now_db = sql.db_time(now)
        event = finish_event(record, status, result, error)
        data, plain = sql.event_json(event)
        ring_sql, ring_select, ring_params = "", "", []
        limited = record.concurrency_limit is not None
        if limited:
            # Same statement: ring the lane's next ones (this execution's slot counts as free) and,
            # for a run task that can take it, find the lane's first queued execution (handoff).
            lane_args = (record.queue_name, record.concurrency_key, int(record.concurrency_limit or 0))
            ring_sql = f", h AS ({lanes.heads_update_sql(extra_free=1)} AND EXISTS (SELECT 1 FROM u) RETURNING id)"
            ring_select = ", (SELECT array_agg(id) FROM h)"
            ring_params = lanes.heads_params(*lane_args)
            if handoff.active() is not None:
                top_query, top_params = lanes.top_sql(*lane_args, extra_free=1)
                ring_sql += f", t AS ({top_query})"
                ring_select += ", (SELECT id FROM t)"
                ring_params += top_params
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH u AS (UPDATE {sql.EXECUTION} SET status = %s, result = %s, error = %s, "
                "state = COALESCE(%s, state), run_seconds = run_seconds + %s, finished_at = %s, lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = %s AND lease_token = %s AND status = %s RETURNING id), "
                f"d AS (DELETE FROM {sql.WAIT} WHERE execution_id IN (SELECT id FROM u)), "
                f"lk AS (SELECT {sql.TOPIC_LOCK.format('%s')} FROM u), "
                f"ev AS (INSERT INTO {sql.EVENT} (project_id, topic, event_type, data, execution_id, created_at) "
                "SELECT %s, %s, %s, %s, %s, %s FROM u, lk RETURNING id)"
                f"{ring_sql} "
                "SELECT (SELECT id FROM ev), EXISTS "
                f"(SELECT 1 FROM {sql.WAIT} WHERE kind = %s AND topic = %s){ring_select} FROM u",
                [
                    status,
                    result,
                    error,
                    state,
                    run_seconds,
                    now_db,
                    record.id,
                    claim.token,
                    RUNNING,
                    record.topic,
                    record.project_id,
                    record.topic,
                    event.event_type,
                    data,
                    record.id,
                    now_db,
                    *ring_params,
                    WAIT_EVENT,
                    record.topic,
                ],
            )
            row = cursor.fetchone()
            if row is None:
                claim.lost = True
                raise LeaseLost(record.id)
            written = EventRecord(int(row[0]), record.topic, event.event_type, plain, now, record.id)
            if row[1]:  # someone waits for events on this workflow's topic (rare): wake them now
                with transaction.atomic():
                    wake_event_waits(cursor, [written])
        live.publish([written])
        if limited:
            top = row[3] if len(row) > 3 else None
            handoff.dispatch(list(row[2] or []), record.queue_name, lane_args, top)

    def retry_later(self, claim: Claim, error: str, due_at: dt.datetime, run_seconds: float) -> None:
        record = claim.execution
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {sql.EXECUTION} SET status = %s, error = %s, retry_count = retry_count + 1, "
                "run_seconds = run_seconds + %s, lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = %s AND lease_token = %s AND status = %s",
                [WAITING, error, run_seconds, record.id, claim.token, RUNNING],
            )
            if cursor.rowcount != 1:
                claim.lost = True
                raise LeaseLost(record.id)
            cursor.execute(
                f"INSERT INTO {sql.WAIT} (execution_id, kind, step_key, due_at, after_sequence, created_at) "
                "VALUES (%s, %s, %s, %s, 0, %s)",
                [record.id, WAIT_RETRY, f"__retry_{record.retry_count + 1}", sql.db_time(due_at), sql.now_param()],
            )
            lanes.after_release(record)

    def renew(self, claim: Claim, lease_seconds: float) -> None:
        expires = utcnow() + dt.timedelta(seconds=lease_seconds)
        with database_work():  # the heartbeat thread: a step that forks (multiprocessing) waits
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {sql.EXECUTION} SET lease_expires_at = %s WHERE id = %s AND lease_token = %s "
                        "AND status = %s RETURNING cancel_requested",
                        [sql.db_time(expires), claim.execution.id, claim.token, RUNNING],
                    )
                    row = cursor.fetchone()
            finally:
                connection.close_if_unusable_or_obsolete()
        if row is None:
            claim.lost = True
        else:
            claim.cancel_requested = bool(row[0])

    # --- acting from outside -------------------------------------------------------------------

    def _resume(self, cursor: Any, request: ResumeRequest, project_id: str | None) -> EventRecord:
        query = (
            f"SELECT w.id, e.id FROM {sql.WAIT} w JOIN {sql.EXECUTION} e ON e.id = w.execution_id "
            "WHERE w.kind = %s AND w.step_key = %s AND (e.id = %s OR e.root_execution_id = %s)"
        )
        params: list[Any] = [
            WAIT_SUSPEND,
            request.step_key,
            request.execution_id or request.root_execution_id,
            request.root_execution_id,
        ]
        if project_id is not None:
            query += " AND e.project_id = %s"
            params.append(project_id)
        cursor.execute(query, params)
        rows = cursor.fetchall()
        if request.execution_id:
            rows = [r for r in rows if r[1] == request.execution_id] or rows
        if not rows:
            target = self.get_execution(request.root_execution_id, project_id)
            if target is None:
                raise ExecutionNotFoundError(f"no execution {request.root_execution_id!r}")
            raise NotResumableError(
                f"execution {request.root_execution_id} ({target.status}) has no suspend step "
                f"{request.step_key!r} waiting: it was already resumed, timed out, or never suspended with that key",
                step_key=request.step_key,
                status=target.status,
            )
        if len(rows) > 1:
            raise InvalidStateError(
                f"{len(rows)} executions under {request.root_execution_id} wait on step {request.step_key!r}; "
                "resume the one you mean by its own execution id"
            )
        wait_id, execution_id = rows[0]
        target = self.get_execution(execution_id)
        assert target is not None
        [event] = insert_events(
            cursor,
            target.topic,
            [NewEvent(f"resume_{request.step_key}", request.data)],
            execution_id=execution_id,
            project_id=target.project_id,
        )
        satisfy(
            cursor,
            wait_id,
            execution_id,
            StepRecord(request.step_key, "suspend", output=json.dumps(event.as_payload())),
        )
        return event

    def resume(self, request: ResumeRequest, project_id: str | None = None) -> EventRecord:
        with transaction.atomic(), connection.cursor() as cursor:
            return self._resume(cursor, request, project_id)

    def publish_events(self, topic: str, events: Sequence[NewEvent], project_id: str = "default") -> list[EventRecord]:
        with transaction.atomic(), connection.cursor() as cursor:
            return insert_events(cursor, topic, events, execution_id=None, project_id=project_id)

    def cancel(self, execution_id: str, project_id: str | None = None) -> bool:
        with transaction.atomic(), connection.cursor() as cursor:
            root = self.get_execution(execution_id, project_id)
            if root is None:
                raise ExecutionNotFoundError(f"no execution {execution_id!r}")
            if root.status in FINISHED_STATUSES:
                return False
            # The tree, parents before children; cancel children first so parents see them finished.
            tree = [root]
            frontier = [root.id]
            while frontier:
                marks = ", ".join(["%s"] * len(frontier))
                cursor.execute(
                    f"SELECT {sql.EXECUTION_SELECT} FROM {sql.EXECUTION} WHERE parent_execution_id IN ({marks}) "
                    f"AND status NOT IN {FINISHED_SQL}",
                    frontier,
                )
                children = [sql.to_record(r) for r in cursor.fetchall()]
                tree.extend(children)
                frontier = [c.id for c in children]
            for record in reversed(tree):
                _cancel_one(cursor, record)
        return True

    # --- recovery ----------------------------------------------------------------------------

    def reap(self, now: dt.datetime | None = None, *, repair: bool = True) -> ReapReport:
        """One pass of recovery and timekeeping (see ``ReapReport`` for its parts).

        Each part runs on its own: one that fails (a bug, a row it cannot handle) is logged and the
        others still run, so a broken trigger never stops timers or takeovers.  A database that
        cannot be reached fails the whole pass (the reaper loop retries it).
        """
        from .. import schedules

        now = now or utcnow()
        now_db = sql.db_time(now)
        report = ReapReport()
        parts: list[tuple[str, Any]] = [
            ("expired_leases", lambda: self._reap_expired_leases(now_db)),
            ("expired_leases", lambda: _with_cursor(self._reap_dead_owners, now_db)),
            ("rerung", lambda: _with_cursor(self._reap_lost_doorbells, now)),
            ("timers_fired", lambda: self._fire_timers(now_db)),
            ("waits_expired", lambda: self._expire_waits(now_db)),
            ("fanins_repaired", lambda: _with_cursor(self._repair_fanins) if repair else 0),
            ("triggered", lambda: triggers.sweep(now)),
            ("scheduled", lambda: schedules.fire_late(now)),
            ("cancels_killed", lambda: cancels.kill_overdue(now)),
            ("notifications_redelivered", lambda: notify_recovery.redeliver(now)),
        ]
        for field_name, part in parts:
            try:
                count = part()
            except Exception:
                if not connection.is_usable():
                    raise
                logger.exception("reaper: the %s part failed; the other parts went on", field_name)
                continue
            setattr(report, field_name, getattr(report, field_name) + count)
        return report

    def _reap_expired_leases(self, now_db: Any) -> int:
        """Queue running executions whose lease expired again (their owner stopped renewing it)."""
        with connection.cursor() as cursor, transaction.atomic():
            cursor.execute(
                f"UPDATE {sql.EXECUTION} SET status = %s, lease_owner = NULL, lease_expires_at = NULL, "
                "rung_at = %s WHERE status = %s AND lease_expires_at < %s RETURNING id, queue_name, priority",
                [QUEUED, now_db, RUNNING, now_db],
            )
            expired = cursor.fetchall()
            for execution_id, queue_name, priority in expired:
                transaction.on_commit(partial(doorbell.ring, execution_id, queue_name, priority=priority))
        return len(expired)

    def _fire_timers(self, now_db: Any) -> int:
        """Satisfy due sleeps and retry back-offs."""
        fired = 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, execution_id, kind, step_key FROM {sql.WAIT} WHERE kind IN (%s, %s) AND due_at <= %s "
                "ORDER BY due_at LIMIT 500",
                [WAIT_TIMER, WAIT_RETRY, now_db],
            )
            for wait_id, execution_id, kind, step_key in cursor.fetchall():
                step = None if kind == WAIT_RETRY else StepRecord(step_key, WAIT, output="null")
                with transaction.atomic():
                    fired += satisfy(cursor, wait_id, execution_id, step)
        return fired

    def _expire_waits(self, now_db: Any) -> int:
        """Fail event waits and suspends whose timeout passed (the step raises a timeout error)."""
        expired = 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, execution_id, kind, step_key FROM {sql.WAIT} WHERE kind IN (%s, %s) AND expires_at <= %s "
                "ORDER BY expires_at LIMIT 500",
                [WAIT_EVENT, WAIT_SUSPEND, now_db],
            )
            for wait_id, execution_id, kind, step_key in cursor.fetchall():
                step_kind = "wait_for_event" if kind == WAIT_EVENT else "suspend"
                step = StepRecord(step_key, step_kind, status=STEP_FAILED, error=timeout_error(kind, step_key))
                with transaction.atomic():
                    expired += satisfy(cursor, wait_id, execution_id, step)
        return expired

    def _reap_lost_doorbells(self, cursor: Any, now: dt.datetime) -> int:
        """Re-ring queued executions whose Celery message was lost.

        A message is lost when a worker dies holding it (the Redis transport would only restore it
        after its visibility timeout, an hour).  A queued execution older than REDELIVER_AFTER_SECONDS
        is re-rung only when its Celery queue is empty: while messages are still waiting, a backlog
        is not a loss, and re-ringing it would flood the broker with duplicates.
        """
        redeliver = sql.db_time(now - dt.timedelta(seconds=float(polos_settings.REDELIVER_AFTER_SECONDS)))
        cursor.execute(
            f"SELECT id, queue_name, rung_at, priority FROM {sql.EXECUTION} "
            "WHERE status = %s AND rung_at < %s AND concurrency_limit IS NULL LIMIT 500",
            [QUEUED, redeliver],
        )
        stale = cursor.fetchall()
        # Limited lanes: ring free slots for executions without a doorbell or with a lost one.
        count = lanes.sweep(cursor, redeliver)
        pending: dict[str | None, int | None] = {}
        # When the broker cannot tell its queue length, wait ten times longer before re-ringing.
        unknown_cutoff = now - dt.timedelta(seconds=10 * float(polos_settings.REDELIVER_AFTER_SECONDS))
        now_db = sql.db_time(now)
        with transaction.atomic():
            for execution_id, queue_name, rung_at, priority in stale:
                if queue_name not in pending:
                    pending[queue_name] = doorbell.pending_messages(queue_name)
                waiting = pending[queue_name]
                if waiting or (waiting is None and (sql.read_time(rung_at) or now) > unknown_cutoff):
                    continue
                cursor.execute(f"UPDATE {sql.EXECUTION} SET rung_at = %s WHERE id = %s", [now_db, execution_id])
                transaction.on_commit(partial(doorbell.ring, execution_id, queue_name, priority=priority))
                count += 1
        return count

    def _reap_dead_owners(self, cursor: Any, now_db: Any) -> int:
        """Take back executions whose owner process on this host is gone (no need to wait for the lease)."""
        prefix = f"{socket.gethostname()}:"
        cursor.execute(
            f"SELECT id, lease_owner FROM {sql.EXECUTION} WHERE status = %s AND lease_owner LIKE %s",
            [RUNNING, prefix + "%"],
        )
        count = 0
        for execution_id, owner in cursor.fetchall():
            pid_text = owner[len(prefix) :]
            if not pid_text.isdigit() or _process_alive(int(pid_text)):
                continue
            with transaction.atomic():
                cursor.execute(
                    f"UPDATE {sql.EXECUTION} SET status = %s, lease_owner = NULL, lease_expires_at = NULL, "
                    "rung_at = %s WHERE id = %s AND status = %s AND lease_owner = %s RETURNING queue_name, priority",
                    [QUEUED, now_db, execution_id, RUNNING, owner],
                )
                row = cursor.fetchone()
                if row is not None:
                    count += 1
                    transaction.on_commit(partial(doorbell.ring, execution_id, row[0], priority=row[1]))
        return count

    def _repair_fanins(self, cursor: Any) -> int:
        """Wake parents whose children all finished but whose wait is still there (belt and braces)."""
        cursor.execute(
            f"SELECT w.execution_id, w.step_key FROM {sql.WAIT} w WHERE w.kind IN (%s, %s) AND NOT EXISTS "
            f"(SELECT 1 FROM {sql.EXECUTION} c WHERE c.parent_execution_id = w.execution_id "
            f"AND c.step_key = w.step_key AND c.status NOT IN {FINISHED_SQL}) LIMIT 100",
            [WAIT_CHILD, WAIT_BATCH],
        )
        repaired = 0
        for parent_id, step_key in cursor.fetchall():
            with transaction.atomic():
                repaired += wake_parent(cursor, parent_id, step_key)
        # Event waits whose event was committed by a writer that crashed before waking them.
        cursor.execute(
            f"SELECT id, execution_id, step_key, topic, after_sequence FROM {sql.WAIT} WHERE kind = %s LIMIT 200",
            [WAIT_EVENT],
        )
        trace = ", ".join(["%s"] * len(TRACE_EVENT_TYPES))
        for wait_id, execution_id, step_key, topic, after in cursor.fetchall():
            cursor.execute(
                f"SELECT id, topic, event_type, data, created_at, execution_id FROM {sql.EVENT} WHERE topic = %s "
                f"AND id > %s AND (event_type IS NULL OR event_type NOT IN ({trace})) ORDER BY id LIMIT 1",
                [topic, after, *sorted(TRACE_EVENT_TYPES)],
            )
            row = cursor.fetchone()
            if row is not None:
                event = sql.event_record(row)
                step = StepRecord(step_key, "wait_for_event", output=json.dumps(event.as_payload()))
                with transaction.atomic():
                    repaired += satisfy(cursor, wait_id, execution_id, step)
        return repaired

    # --- hooks ---------------------------------------------------------------------------------

    def approval_url(self, execution: ExecutionRecord, step_key: str, expires_at: dt.datetime | None) -> str | None:
        from ..approvals.links import approval_url  # signing lives with the approval pages

        return approval_url(execution.id, step_key, expires_at)

    def is_transient(self, exc: BaseException) -> bool:
        return (
            isinstance(exc, OperationalError | InterfaceError | ConnectionError | TimeoutError)
            and not isinstance(exc, IntegrityError)
        ) or (isinstance(exc, DatabaseError) and "connection" in str(exc).lower())

    def requeue_waiting(self, execution_id: str) -> bool:
        """Re-queue a waiting execution (admin/testing helper)."""
        with transaction.atomic(), connection.cursor() as cursor:
            return requeue(cursor, execution_id)


def _cancel_one(cursor: Any, record: ExecutionRecord) -> None:
    """Cancel one execution: at once when queued or waiting, at its next boundary when running.

    The row is locked first (PostgreSQL; SQLite serializes writers), so it cannot move between the
    look and the write: a running execution that suspends meanwhile finds ``cancel_requested`` set
    and stops, instead of waiting for an answer with its cancel lost.
    """
    lock = " FOR UPDATE" if sql.is_postgres() else ""
    cursor.execute(f"SELECT status FROM {sql.EXECUTION} WHERE id = %s{lock}", [record.id])
    row = cursor.fetchone()
    if row is None or row[0] in FINISHED_STATUSES:
        return
    if row[0] == RUNNING:
        cursor.execute(
            f"UPDATE {sql.EXECUTION} SET cancel_requested = %s, "
            "cancel_requested_at = COALESCE(cancel_requested_at, %s) WHERE id = %s",
            [True, sql.now_param(), record.id],
        )
        return
    cursor.execute(
        f"UPDATE {sql.EXECUTION} SET status = %s, error = %s, finished_at = %s, lease_owner = NULL, "
        "lease_expires_at = NULL WHERE id = %s",
        [CANCELLED, CANCELLED_ERROR, sql.now_param(), record.id],
    )
    finish_row(cursor, record, CANCELLED, result=None, error=CANCELLED_ERROR)


def _with_cursor(method: Any, *args: Any) -> int:
    with connection.cursor() as cursor:
        return int(method(cursor, *args))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process that its parent has not reaped yet is a zombie: dead for us
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


_store: DjangoStore | None = None


def get_store() -> DjangoStore:
    """The process-wide store instance."""
    global _store
    if _store is None:
        _store = DjangoStore()
    return _store
