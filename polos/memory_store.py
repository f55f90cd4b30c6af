"""An in-memory :class:`~polos.store.ExecutionStore` for unit tests and local experiments.

It implements the same semantics as the database store (claims with fencing tokens, waits, wake-ups,
events) with plain dictionaries guarded by a lock.  Nothing survives the process.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import serialization
from .exceptions import InvalidStateError, LeaseLost, NotResumableError
from .queues import declared_limit
from .steps import BATCH_WAIT, INVOKE_WAIT, TRACE_EVENT_TYPES, WAIT, timeout_error
from .store import (
    CANCELLED,
    COMPLETED,
    FINISHED_STATUSES,
    QUEUED,
    RUNNING,
    STEP_COMPLETED,
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


@dataclass(slots=True)
class _Wait:
    execution_id: str
    kind: str
    step_key: str
    due_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    topic: str | None = None
    after_sequence: int = 0


@dataclass(slots=True)
class _Row:
    record: ExecutionRecord
    token: int = 0
    owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    claim: Claim | None = None  # the live claim: a cancel reaches the next step boundary without a heartbeat


class MemoryStore(ExecutionStore):
    """Executions, steps, waits and events in memory.

    Args:
        on_ready: called with an execution id whenever it becomes runnable (the doorbell).
    """

    def __init__(self, on_ready: Callable[[str], None] | None = None) -> None:
        self.on_ready = on_ready
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._waits: dict[tuple[str, str], _Wait] = {}
        self._events: list[EventRecord] = []
        self._sequence = itertools.count(1)
        self._ready: list[str] = []
        # Event triggers: the last sequence id each triggered workflow consumed (by workflow id).
        self._trigger_cursors: dict[str, int] = {}

    # --- helpers -------------------------------------------------------------------------------

    def _ring(self, execution_id: str) -> None:
        self._ready.append(execution_id)

    def _lane(self, record: ExecutionRecord) -> list[ExecutionRecord]:
        return [
            r.record
            for r in self._rows.values()
            if r.record.queue_name == record.queue_name
            and r.record.concurrency_key == record.concurrency_key
            and r.record.concurrency_limit is not None
        ]

    def _admit(self, record: ExecutionRecord) -> bool:
        """A queued execution of a limited lane runs if a slot is free for it (priority, then FIFO)."""
        lane = self._lane(record)
        free = int(record.concurrency_limit or 0) - sum(1 for r in lane if r.status == RUNNING)
        queued = sorted((r for r in lane if r.status == QUEUED), key=lambda r: (-r.priority, r.created_at, r.id))
        heads = queued[: max(free, 0)]
        if any(r.id == record.id for r in heads):
            return True
        for head in heads:  # the ones ahead may have spent their doorbells
            self._ring(head.id)
        return False

    def _release(self, record: ExecutionRecord) -> None:
        """A running execution of a limited lane stopped running: ring the lane's next ones."""
        if record.concurrency_limit is None:
            return
        lane = self._lane(record)
        free = int(record.concurrency_limit) - sum(1 for r in lane if r.status == RUNNING)
        queued = sorted((r for r in lane if r.status == QUEUED), key=lambda r: (-r.priority, r.created_at, r.id))
        for head in queued[: max(free, 0)]:
            self._ring(head.id)

    def _flush(self) -> None:
        ready, self._ready = self._ready, []
        if self.on_ready is not None:
            for execution_id in ready:
                self.on_ready(execution_id)

    def _row(self, execution_id: str) -> _Row:
        return self._rows[execution_id]

    def _fenced(self, claim: Claim) -> _Row:
        row = self._rows.get(claim.execution.id)
        if row is None or row.token != claim.token or row.record.status != RUNNING:
            claim.lost = True
            raise LeaseLost(claim.execution.id)
        return row

    def _create(self, new: NewExecution, parent: ExecutionRecord | None, step_key: str | None) -> ExecutionRecord:
        execution_id = new.id or str(uuid.uuid4())
        record = ExecutionRecord(
            id=execution_id,
            workflow_id=new.workflow_id,
            status=QUEUED,
            payload=new.payload,
            project_id=new.project_id,
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
            concurrency_limit=new.concurrency_limit
            if new.concurrency_limit is not None
            else declared_limit(new.queue_name),
            priority=new.priority,
        )
        self._rows[execution_id] = _Row(record)
        self._ring(execution_id)
        return copy.copy(record)

    def _insert_events(self, topic: str, events: Sequence[NewEvent], execution_id: str | None) -> list[EventRecord]:
        written = []
        for event in events:
            record = EventRecord(
                sequence_id=next(self._sequence),
                topic=event.topic or topic,
                event_type=event.event_type,
                data=json.loads(serialization.dumps(serialization.to_jsonable(event.data))),  # no model markers
                created_at=utcnow(),
                execution_id=execution_id,
            )
            self._events.append(record)
            written.append(record)
        for record in written:
            if record.event_type in TRACE_EVENT_TYPES:
                continue
            for wait in list(self._waits.values()):
                if wait.kind == WAIT_EVENT and wait.topic == record.topic and record.sequence_id > wait.after_sequence:
                    step = StepRecord(wait.step_key, "wait_for_event", output=json.dumps(record.as_payload()))
                    self._satisfy(wait, step)
        for topic in dict.fromkeys(r.topic for r in written if not r.topic.startswith("workflow/")):
            first = next(r.sequence_id for r in written if r.topic == topic)
            self._consume_triggers(topic, first, None)
        return written

    def _consume_triggers(self, topic: str, first: int | None, now: dt.datetime | None) -> int:
        """Start the event-triggered workflows of ``topic`` for complete batches (and, with ``now``,
        partial ones whose oldest event is older than their ``batch_timeout_seconds``)."""
        from .workflow import get_all_workflows

        started = 0
        for wf in get_all_workflows().values():
            if getattr(wf, "trigger_on_event", None) != topic:
                continue
            if wf.id not in self._trigger_cursors:
                if first is None:
                    continue
                self._trigger_cursors[wf.id] = first - 1
            pending = [e for e in self._events if e.topic == topic and e.sequence_id > self._trigger_cursors[wf.id]]
            size = int(wf.batch_size)
            batches = [pending[i : i + size] for i in range(0, len(pending), size)]
            if batches and len(batches[-1]) < size:
                timeout = wf.batch_timeout_seconds
                expired = (
                    now is not None and timeout and batches[-1][0].created_at <= now - dt.timedelta(seconds=timeout)
                )
                if not expired:
                    batches.pop()
            for batch in batches:
                payload = json.dumps({"events": [e.as_payload() for e in batch]})
                queue_name = wf.queue.name if wf.queue is not None else None
                self._create(NewExecution(wf.id, payload, queue_name=queue_name), None, None)
                self._trigger_cursors[wf.id] = batch[-1].sequence_id
                started += 1
        return started

    def _satisfy(self, wait: _Wait, step: StepRecord | None) -> None:
        """Write the awaited value as the step's record, drop the wait, re-queue the execution."""
        self._waits.pop((wait.execution_id, wait.step_key), None)
        row = self._rows[wait.execution_id]
        if step is not None:
            row.steps[step.key] = step
        if row.record.status == WAITING:
            row.record.status = QUEUED
            self._ring(row.record.id)

    def _child_outcome(self, child: ExecutionRecord) -> tuple[bool, str | None, str | None]:
        if child.status == COMPLETED:
            return True, child.result, None
        info = serialization.loads_plain(child.error) or {}
        reason = "was cancelled" if child.status == CANCELLED else f"failed: {info.get('message', 'unknown error')}"
        return False, None, f"child workflow {child.workflow_id!r} ({child.id}) {reason}"

    def _wake_parent(self, child: ExecutionRecord) -> None:
        if child.parent_execution_id is None or child.step_key is None:
            return
        wait = self._waits.get((child.parent_execution_id, child.step_key))
        if wait is None:
            return
        if wait.kind == WAIT_CHILD:
            ok, result, error = self._child_outcome(child)
            if ok:
                step = StepRecord(wait.step_key, INVOKE_WAIT, output=result)
            else:
                step = StepRecord(
                    wait.step_key,
                    INVOKE_WAIT,
                    status=STEP_FAILED,
                    error=json.dumps({"message": error, "type": "StepExecutionError"}),
                )
            self._satisfy(wait, step)
        elif wait.kind == WAIT_BATCH:
            self._complete_batch(wait)

    def _complete_batch(self, wait: _Wait) -> bool:
        siblings = sorted(
            (
                r.record
                for r in self._rows.values()
                if r.record.parent_execution_id == wait.execution_id and r.record.step_key == wait.step_key
            ),
            key=lambda r: r.batch_index or 0,
        )
        if any(r.status not in FINISHED_STATUSES for r in siblings):
            return False
        items = []
        for child in siblings:
            ok, result, error = self._child_outcome(child)
            items.append(
                {
                    "workflow_id": child.workflow_id,
                    "success": ok,
                    "result": json.loads(result) if result else None,
                    "error": error,
                    "execution_id": child.id,
                }
            )
        self._satisfy(wait, StepRecord(wait.step_key, BATCH_WAIT, output=json.dumps(items)))
        return True

    def _finish_row(self, row: _Row, status: str, result: str | None, error: str | None) -> None:
        record = row.record
        record.status = status
        record.result = result
        record.error = error
        record.finished_at = utcnow()
        row.owner = None
        row.lease_expires_at = None
        for key in [k for k in self._waits if k[0] == record.id]:
            del self._waits[key]
        data: dict[str, object] = {"execution_id": record.id, "workflow_id": record.workflow_id, "status": status}
        if result is not None:
            data["result"] = serialization.to_jsonable(serialization.loads(result))
        if error is not None:
            data["error"] = (serialization.loads_plain(error) or {}).get("message")
        event_type = "workflow_cancel" if status == CANCELLED else "workflow_finish"
        self._insert_events(record.topic, [NewEvent(event_type, data)], record.id)
        self._wake_parent(record)

    # --- ExecutionStore ------------------------------------------------------------------------

    def create_executions(self, requests: Sequence[NewExecution]) -> list[ExecutionRecord]:
        with self._lock:
            created = [self._create(r, None, None) for r in requests]
        self._flush()
        return created

    def get_execution(self, execution_id: str, project_id: str | None = None) -> ExecutionRecord | None:
        with self._lock:
            row = self._rows.get(execution_id)
            if row is None or (project_id is not None and row.record.project_id != project_id):
                return None
            return copy.copy(row.record)

    def list_events(self, topic: str, after: int = 0, limit: int = 1000) -> list[EventRecord]:
        with self._lock:
            return [e for e in self._events if e.topic == topic and e.sequence_id > after][:limit]

    def claim(self, execution_id: str, owner: str, lease_seconds: float) -> Claim | None:
        with self._lock:
            row = self._rows.get(execution_id)
            if row is None:
                return None
            now = utcnow()
            record = row.record
            expired = record.status == RUNNING and row.lease_expires_at is not None and row.lease_expires_at < now
            if record.status != QUEUED and not expired:
                return None
            if not expired and record.concurrency_limit is not None and not self._admit(record):
                return None
            row.token += 1
            row.owner = owner
            row.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
            record.status = RUNNING
            record.attempt += 1
            if record.started_at is None:
                record.started_at = now
                self._insert_events(
                    record.topic,
                    [NewEvent("workflow_start", {"execution_id": record.id, "workflow_id": record.workflow_id})],
                    record.id,
                )
            row.claim = Claim(copy.copy(record), row.token, owner, cancel_requested=record.cancel_requested)
            return row.claim

    def load_steps(self, execution_id: str) -> dict[str, StepRecord]:
        with self._lock:
            return {k: copy.copy(v) for k, v in self._rows[execution_id].steps.items()}

    def record_step(self, claim: Claim, write: StepWrite) -> list[ExecutionRecord]:
        with self._lock:
            row = self._fenced(claim)
            if write.step.key in row.steps:
                raise LeaseLost(claim.execution.id)
            for resume in write.resumes:  # may raise NotResumableError: before anything is written
                self._resume(resume, None)
            children = [self._create(c, row.record, write.step.key) for c in write.children]
            self._insert_events(row.record.topic, write.events, row.record.id)
            row.steps[write.step.key] = copy.copy(write.step)
            if write.step.state is not None:
                row.record.state = write.step.state
        self._flush()
        return children

    def wait(self, claim: Claim, spec: WaitSpec, run_seconds: float) -> list[ExecutionRecord]:
        with self._lock:
            row = self._fenced(claim)
            record = row.record
            after = max((e.sequence_id for e in self._events if e.topic == spec.topic), default=0)
            self._waits[(record.id, spec.step_key)] = _Wait(
                record.id, spec.kind, spec.step_key, spec.due_at, spec.expires_at, spec.topic, after
            )
            record.status = WAITING
            record.run_seconds += run_seconds
            if spec.state is not None:
                record.state = spec.state
            row.owner = None
            row.lease_expires_at = None
            self._insert_events(record.topic, spec.events, record.id)
            children = [self._create(c, record, spec.step_key) for c in spec.children]
            self._release(record)
        self._flush()
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
        with self._lock:
            row = self._fenced(claim)
            row.record.run_seconds += run_seconds
            if state is not None:
                row.record.state = state
            self._finish_row(row, status, result, error)
            self._release(row.record)
        self._flush()

    def retry_later(self, claim: Claim, error: str, due_at: dt.datetime, run_seconds: float) -> None:
        with self._lock:
            row = self._fenced(claim)
            row.record.retry_count += 1
            row.record.error = error
            row.record.status = WAITING
            row.record.run_seconds += run_seconds
            row.owner = None
            self._waits[(row.record.id, "__retry__")] = _Wait(row.record.id, WAIT_RETRY, "__retry__", due_at=due_at)
            self._release(row.record)
        self._flush()

    def renew(self, claim: Claim, lease_seconds: float) -> None:
        with self._lock:
            row = self._rows.get(claim.execution.id)
            if row is None or row.token != claim.token or row.record.status != RUNNING:
                claim.lost = True
                return
            row.lease_expires_at = utcnow() + dt.timedelta(seconds=lease_seconds)
            claim.cancel_requested = row.record.cancel_requested

    def _resume(self, request: ResumeRequest, project_id: str | None) -> EventRecord:
        candidates = [
            w
            for w in self._waits.values()
            if w.kind == WAIT_SUSPEND
            and w.step_key == request.step_key
            and (
                w.execution_id == (request.execution_id or request.root_execution_id)
                or self._rows[w.execution_id].record.root_execution_id == request.root_execution_id
            )
            and (project_id is None or self._rows[w.execution_id].record.project_id == project_id)
        ]
        if not candidates:
            raise NotResumableError(
                f"no execution in {request.root_execution_id} is waiting on suspend step {request.step_key!r} "
                "(it was already resumed, timed out, or never suspended with that key)",
                step_key=request.step_key,
            )
        if len(candidates) > 1:
            raise InvalidStateError(
                f"{len(candidates)} executions in {request.root_execution_id} wait on step {request.step_key!r}; "
                "pass the execution id of the one to resume"
            )
        wait = candidates[0]
        record = self._rows[wait.execution_id].record
        [event] = self._insert_events(record.topic, [NewEvent(f"resume_{request.step_key}", request.data)], record.id)
        self._satisfy(wait, StepRecord(request.step_key, "suspend", output=json.dumps(event.as_payload())))
        return event

    def resume(self, request: ResumeRequest, project_id: str | None = None) -> EventRecord:
        with self._lock:
            event = self._resume(request, project_id)
        self._flush()
        return event

    def publish_events(self, topic: str, events: Sequence[NewEvent], project_id: str = "default") -> list[EventRecord]:
        with self._lock:
            written = self._insert_events(topic, events, None)
        self._flush()
        return written

    def cancel(self, execution_id: str, project_id: str | None = None) -> bool:
        with self._lock:
            row = self._rows.get(execution_id)
            if row is None or (project_id is not None and row.record.project_id != project_id):
                from .exceptions import ExecutionNotFoundError

                raise ExecutionNotFoundError(f"no execution {execution_id!r}")
            if row.record.status in FINISHED_STATUSES:
                return False
            self._cancel_tree(row)
        self._flush()
        return True

    def _cancel_tree(self, row: _Row) -> None:
        record = row.record
        for child in [r for r in self._rows.values() if r.record.parent_execution_id == record.id]:
            if child.record.status not in FINISHED_STATUSES:
                self._cancel_tree(child)
        if record.status in (QUEUED, WAITING):
            self._finish_row(row, CANCELLED, None, json.dumps({"message": "cancelled", "type": "WorkflowCancelled"}))
        elif record.status == RUNNING:
            record.cancel_requested = True
            if row.claim is not None:
                row.claim.cancel_requested = True

    def reap(self, now: dt.datetime | None = None) -> ReapReport:
        now = now or utcnow()
        report = ReapReport()
        with self._lock:
            for topic in {e.topic for e in self._events if not e.topic.startswith("workflow/")}:
                report.triggered += self._consume_triggers(topic, None, now)
            for row in self._rows.values():
                if row.record.status == RUNNING and row.lease_expires_at is not None and row.lease_expires_at < now:
                    row.record.status = QUEUED
                    row.owner = None
                    self._ring(row.record.id)
                    report.expired_leases += 1
            for wait in list(self._waits.values()):
                if wait.kind in (WAIT_TIMER, WAIT_RETRY) and wait.due_at is not None and wait.due_at <= now:
                    step = None if wait.kind == WAIT_RETRY else StepRecord(wait.step_key, WAIT, output="null")
                    self._satisfy(wait, step)
                    report.timers_fired += 1
                elif wait.kind in (WAIT_EVENT, WAIT_SUSPEND) and wait.expires_at is not None and wait.expires_at <= now:
                    kind = "wait_for_event" if wait.kind == WAIT_EVENT else "suspend"
                    error = timeout_error(wait.kind, wait.step_key)
                    self._satisfy(wait, StepRecord(wait.step_key, kind, status=STEP_FAILED, error=error))
                    report.waits_expired += 1
                elif wait.kind == WAIT_BATCH and self._complete_batch(wait):
                    report.fanins_repaired += 1
        self._flush()
        return report

    # --- testing helpers -----------------------------------------------------------------------

    def waits_of(self, execution_id: str) -> list[_Wait]:
        with self._lock:
            return [w for (e, _), w in self._waits.items() if e == execution_id]

    def steps_of(self, execution_id: str) -> dict[str, StepRecord]:
        return self.load_steps(execution_id)


__all__ = ["STEP_COMPLETED", "MemoryStore"]
