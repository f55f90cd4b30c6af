"""Making waiting executions runnable again: satisfy a wait, wake a parent, finish a row."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from polos import serialization
from polos.steps import BATCH_WAIT, INVOKE_WAIT
from polos.store import (
    CANCELLED,
    COMPLETED,
    QUEUED,
    STEP_FAILED,
    WAIT_BATCH,
    WAIT_CHILD,
    WAITING,
    NewEvent,
    StepRecord,
)

from .. import doorbell
from . import sql

FINISHED_SQL = "('completed', 'failed', 'cancelled')"


def insert_step(cursor: Any, execution_id: str, step: StepRecord, *, ignore_conflict: bool = False) -> int:
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflict else ""
    cursor.execute(
        f"INSERT INTO {sql.STEP} (execution_id, key, kind, status, output, error, state, created_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s){conflict}",
        [execution_id, step.key, step.kind, step.status, step.output, step.error, step.state, sql.now_param()],
    )
    return cursor.rowcount


def requeue(cursor: Any, execution_id: str, from_status: str = WAITING) -> bool:
    """Flip an execution back to queued and ring its doorbell after commit."""
    cursor.execute(
        f"UPDATE {sql.EXECUTION} SET status = %s, rung_at = %s WHERE id = %s AND status = %s "
        "RETURNING queue_name, concurrency_key, concurrency_limit, priority",
        [QUEUED, sql.now_param(), execution_id, from_status],
    )
    row = cursor.fetchone()
    if row is None:
        return False
    queue_name, priority = row[0], int(row[3] or 0)
    lane = (queue_name, row[1], int(row[2])) if row[2] is not None else None
    transaction.on_commit(lambda: doorbell.ring(execution_id, queue_name, lane=lane, priority=priority))
    return True


def satisfy(cursor: Any, wait_id: int, execution_id: str, step: StepRecord | None) -> bool:
    """Record the awaited value as the step's record, drop the wait, re-queue (one transaction).

    Returns ``False`` when someone else satisfied the wait first.
    """
    cursor.execute(f"DELETE FROM {sql.WAIT} WHERE id = %s", [wait_id])
    if cursor.rowcount != 1:
        return False
    if step is not None:
        insert_step(cursor, execution_id, step, ignore_conflict=True)
    requeue(cursor, execution_id)
    return True


def child_outcome(
    workflow_id: str, child_id: str, status: str, result: str | None, error: str | None
) -> tuple[bool, str | None, str | None]:
    if status == COMPLETED:
        return True, result, None
    if status == CANCELLED:
        return False, None, f"child workflow {workflow_id!r} ({child_id}) was cancelled"
    info = serialization.loads_plain(error) or {}
    return False, None, f"child workflow {workflow_id!r} ({child_id}) failed: {info.get('message', 'unknown error')}"


def wake_parent(cursor: Any, parent_id: str, step_key: str) -> bool:
    """After a child finished: satisfy the parent's child/batch wait if it is complete."""
    lock = " FOR UPDATE" if sql.is_postgres() else ""
    cursor.execute(
        f"SELECT id, kind FROM {sql.WAIT} WHERE execution_id = %s AND step_key = %s{lock}", [parent_id, step_key]
    )
    row = cursor.fetchone()
    if row is None:
        return False
    wait_id, kind = row
    cursor.execute(
        f"SELECT id, workflow_id, status, result, error FROM {sql.EXECUTION} "
        "WHERE parent_execution_id = %s AND step_key = %s ORDER BY batch_index",
        [parent_id, step_key],
    )
    children = cursor.fetchall()
    if any(status not in (COMPLETED, "failed", CANCELLED) for _, _, status, _, _ in children) or not children:
        return False
    if kind == WAIT_CHILD:
        child_id, workflow_id, status, result, error = children[0]
        ok, result, message = child_outcome(workflow_id, child_id, status, result, error)
        if ok:
            step = StepRecord(step_key, INVOKE_WAIT, output=result)
        else:
            step = StepRecord(
                step_key,
                INVOKE_WAIT,
                status=STEP_FAILED,
                error=json.dumps({"message": message, "type": "StepExecutionError"}),
            )
        return satisfy(cursor, wait_id, parent_id, step)
    if kind == WAIT_BATCH:
        items = []
        for child_id, workflow_id, status, result, error in children:
            ok, result, message = child_outcome(workflow_id, child_id, status, result, error)
            items.append(
                {
                    "workflow_id": workflow_id,
                    "success": ok,
                    "result": json.loads(result) if result else None,
                    "error": message,
                    "execution_id": child_id,
                }
            )
        return satisfy(cursor, wait_id, parent_id, StepRecord(step_key, BATCH_WAIT, output=json.dumps(items)))
    return False


def finish_event(record: Any, status: str, result: str | None, error: str | None) -> NewEvent:
    """The ``workflow_finish`` (or ``workflow_cancel``) event of an execution that just finished."""
    data: dict[str, Any] = {"execution_id": record.id, "workflow_id": record.workflow_id, "status": status}
    if result is not None:
        data["result"] = serialization.to_jsonable(serialization.loads(result))
    if error is not None:
        data["error"] = (serialization.loads_plain(error) or {}).get("message")
    return NewEvent("workflow_cancel" if status == CANCELLED else "workflow_finish", data)


def finish_row(
    cursor: Any,
    record: Any,
    status: str,
    *,
    result: str | None,
    error: str | None,
) -> None:
    """After the execution's row was set to a final status: drop its waits, emit the finish event,
    wake its parent."""
    from .events import insert_events

    cursor.execute(f"DELETE FROM {sql.WAIT} WHERE execution_id = %s", [record.id])
    insert_events(
        cursor,
        record.topic,
        [finish_event(record, status, result, error)],
        execution_id=record.id,
        project_id=record.project_id,
    )
    if record.parent_execution_id and record.step_key:
        wake_parent(cursor, record.parent_execution_id, record.step_key)
