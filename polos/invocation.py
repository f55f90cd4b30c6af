"""Turning an ``invoke`` call into a stored execution request, and an execution into a dict.

Shared by every client (in-memory, in-process Django, HTTP API) so they validate and answer alike.
"""

from __future__ import annotations

from typing import Any

from . import serialization
from .exceptions import PayloadValidationError, WorkflowDefinitionError
from .queues import Queue, check_priority, declared_limit
from .store import ExecutionRecord, NewExecution
from .types import ExecutionHandle
from .workflow import get_workflow, require_workflow


def new_execution(
    workflow_id: str,
    payload: Any = None,
    *,
    project_id: str = "default",
    queue_name: str | None = None,
    queue_concurrency_limit: int | None = None,
    concurrency_key: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    initial_state: Any = None,
    run_timeout_seconds: float | None = None,
    require_registered: bool = True,
    priority: int = 0,
) -> NewExecution:
    """Validate an invoke request and build the execution to create.

    Raises:
        WorkflowNotFoundError: the workflow id is unknown (when ``require_registered``).
        PayloadValidationError: the payload or options are invalid (the message names the field).
    """
    wf = require_workflow(workflow_id) if require_registered else get_workflow(workflow_id)
    if wf is not None:
        payload = wf.prepare_payload(payload)
    if queue_name is not None or queue_concurrency_limit is not None:
        try:
            Queue(queue_name or workflow_id, queue_concurrency_limit)  # validates name and limit
        except WorkflowDefinitionError as exc:
            raise PayloadValidationError(str(exc)) from None
    check_priority(priority)
    if run_timeout_seconds is not None and (
        not isinstance(run_timeout_seconds, int | float)
        or isinstance(run_timeout_seconds, bool)
        or run_timeout_seconds <= 0
    ):
        raise PayloadValidationError(f"run_timeout_seconds must be a positive number, got {run_timeout_seconds!r}")
    for name, value in (("session_id", session_id), ("user_id", user_id), ("concurrency_key", concurrency_key)):
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise PayloadValidationError(f"{name} must be a string of at most 255 characters")
    if wf is not None:
        state_text = wf.prepare_initial_state(initial_state)
    else:
        state_text = serialization.dumps(initial_state) if initial_state is not None else None
    limit = queue_concurrency_limit
    if queue_name is None and wf is not None and wf.queue is not None:
        queue_name = wf.queue.name
    if queue_name is None and limit is not None:
        queue_name = workflow_id  # a limit without a name: the workflow's own queue
    if limit is None and wf is not None and wf.queue is not None and wf.queue.name == queue_name:
        limit = wf.queue.concurrency_limit
    if limit is None:
        limit = declared_limit(queue_name)
    return NewExecution(
        workflow_id=workflow_id,
        payload=serialization.dumps(payload),
        project_id=project_id,
        session_id=session_id,
        user_id=user_id,
        queue_name=queue_name,
        concurrency_key=concurrency_key,
        workflow_type=wf.workflow_type if wf is not None else "workflow",
        initial_state=state_text,
        run_timeout_seconds=run_timeout_seconds,
        concurrency_limit=limit,
        priority=priority,
    )


def handle_for(record: ExecutionRecord) -> ExecutionHandle:
    """The :class:`ExecutionHandle` of a stored execution."""
    return ExecutionHandle(
        id=record.id,
        workflow_id=record.workflow_id,
        created_at=record.created_at.isoformat(),
        parent_execution_id=record.parent_execution_id,
        root_workflow_id=record.root_workflow_id or record.workflow_id,
        root_execution_id=record.root_execution_id or record.id,
        session_id=record.session_id,
        user_id=record.user_id,
        step_key=record.step_key,
    )


def execution_dict(record: ExecutionRecord) -> dict[str, Any]:
    """An execution as the API and ``get_execution`` return it (plain JSON data)."""
    error = serialization.loads_plain(record.error)
    return {
        "id": record.id,
        "workflow_id": record.workflow_id,
        "workflow_type": record.workflow_type,
        "status": record.status,
        "payload": serialization.loads_plain(record.payload),
        "result": _plain(record.result),
        "error": error.get("message") if isinstance(error, dict) else error,
        "error_type": error.get("type") if isinstance(error, dict) else None,
        "state": serialization.loads_plain(record.state),
        "project_id": record.project_id,
        "parent_execution_id": record.parent_execution_id,
        "root_execution_id": record.root_execution_id or record.id,
        "root_workflow_id": record.root_workflow_id or record.workflow_id,
        "step_key": record.step_key,
        "session_id": record.session_id,
        "user_id": record.user_id,
        "queue_name": record.queue_name,
        "concurrency_key": record.concurrency_key,
        "concurrency_limit": record.concurrency_limit,
        "priority": record.priority,
        "retry_count": record.retry_count,
        "attempt": record.attempt,
        "run_timeout_seconds": record.run_timeout_seconds,
        "cancel_requested": record.cancel_requested,
        "created_at": record.created_at.isoformat() if record.created_at else None,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "completed_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def _plain(text: str | None) -> Any:
    return serialization.to_jsonable(serialization.loads(text)) if text else None


def result_of(record: ExecutionRecord) -> Any:
    """The result of a finished execution; raises :class:`ExecutionFailedError` if it did not complete."""
    from .exceptions import ExecutionFailedError
    from .store import CANCELLED, COMPLETED

    if record.status == COMPLETED:
        return serialization.loads(record.result)
    info = serialization.loads_plain(record.error) or {}
    if record.status == CANCELLED:
        message = f"execution {record.id} of {record.workflow_id!r} was cancelled"
    else:
        message = f"execution {record.id} of {record.workflow_id!r} failed: {info.get('message', 'unknown error')}"
    raise ExecutionFailedError(
        message, execution_id=record.id, status=record.status, error_type=info.get("type"), error=info.get("message")
    )
