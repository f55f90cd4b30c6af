"""The execution-store interface: everything the runtime needs from persistence.

The SDK never talks to a database directly.  :class:`ExecutionStore` is the contract; ``polos_django``
implements it with the Django ORM, and :class:`polos.memory_store.MemoryStore` implements it in memory
for unit tests.  Every method is one atomic operation: either all of its writes happen or none do.

Store methods are synchronous on purpose.  A no-op step costs exactly one write, with no thread hop
(see ``docs/architecture.md``).  Whatever makes an execution runnable again ("rings the doorbell")
does so only after its transaction committed.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Execution statuses.
QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED})

# Step statuses.
STEP_COMPLETED = "completed"
STEP_FAILED = "failed"

# Wait kinds.
WAIT_TIMER = "timer"
WAIT_EVENT = "event"
WAIT_SUSPEND = "suspend"
WAIT_CHILD = "child"
WAIT_BATCH = "batch"
WAIT_RETRY = "retry"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class ExecutionRecord:
    """An execution as stored."""

    id: str
    workflow_id: str
    status: str
    payload: str | None = None
    project_id: str = "default"
    parent_execution_id: str | None = None
    root_execution_id: str | None = None
    root_workflow_id: str | None = None
    step_key: str | None = None
    batch_index: int | None = None
    session_id: str | None = None
    user_id: str | None = None
    queue_name: str | None = None
    concurrency_key: str | None = None
    workflow_type: str = "workflow"
    initial_state: str | None = None
    state: str | None = None
    concurrency_limit: int | None = None
    priority: int = 0
    result: str | None = None
    error: str | None = None
    retry_count: int = 0
    attempt: int = 0
    run_timeout_seconds: float | None = None
    run_seconds: float = 0.0
    cancel_requested: bool = False
    created_at: dt.datetime = field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def topic(self) -> str:
        return f"workflow/{self.root_workflow_id}/{self.root_execution_id}"


@dataclass(slots=True)
class StepRecord:
    """A memoized step: its recorded output or failure."""

    key: str
    kind: str
    status: str = STEP_COMPLETED
    output: str | None = None
    error: str | None = None
    state: str | None = None


@dataclass(slots=True)
class NewExecution:
    """A request to create an execution (top-level, or a child of the claiming execution)."""

    workflow_id: str
    payload: str | None = None
    id: str | None = None
    project_id: str = "default"
    session_id: str | None = None
    user_id: str | None = None
    queue_name: str | None = None
    concurrency_key: str | None = None
    workflow_type: str = "workflow"
    initial_state: str | None = None
    run_timeout_seconds: float | None = None
    batch_index: int | None = None
    # The lane's concurrency limit (None: resolved from the queue's declaration, else unlimited)
    # and the priority within the lane (higher first).
    concurrency_limit: int | None = None
    priority: int = 0


@dataclass(slots=True)
class NewEvent:
    """An event to write (``topic`` ``None`` means the writing execution's root topic)."""

    event_type: str | None
    data: Any = None
    topic: str | None = None


@dataclass(slots=True)
class EventRecord:
    """A stored event; ``sequence_id`` increases along each topic."""

    sequence_id: int
    topic: str
    event_type: str | None
    data: Any
    created_at: dt.datetime
    execution_id: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.sequence_id),
            "sequence_id": self.sequence_id,
            "topic": self.topic,
            "event_type": self.event_type,
            "data": self.data,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(slots=True)
class ResumeRequest:
    """Resume the execution waiting on ``step_key`` in the tree of ``root_execution_id``."""

    root_execution_id: str
    step_key: str
    data: Any = None
    execution_id: str | None = None


@dataclass(slots=True)
class StepWrite:
    """What a completed step writes atomically: its record and its side effects."""

    step: StepRecord
    events: Sequence[NewEvent] = ()
    children: Sequence[NewExecution] = ()
    resumes: Sequence[ResumeRequest] = ()


@dataclass(slots=True)
class WaitSpec:
    """What an execution waits for; written atomically with the status change to ``waiting``."""

    kind: str
    step_key: str
    due_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    topic: str | None = None
    children: Sequence[NewExecution] = ()
    events: Sequence[NewEvent] = ()
    state: str | None = None


@dataclass(slots=True)
class Claim:
    """Ownership of a running execution: the lease and its fencing token.

    ``cancel_requested`` and ``lost`` are refreshed by the lease heartbeat and checked before each step.
    """

    execution: ExecutionRecord
    token: int
    owner: str
    cancel_requested: bool = False
    lost: bool = False


@dataclass(slots=True)
class ReapReport:
    """What one pass of the reaper did (counts)."""

    expired_leases: int = 0
    rerung: int = 0
    timers_fired: int = 0
    waits_expired: int = 0
    fanins_repaired: int = 0
    triggered: int = 0
    scheduled: int = 0
    cancels_killed: int = 0
    notifications_redelivered: int = 0

    @property
    def total(self) -> int:
        return (
            self.expired_leases
            + self.rerung
            + self.timers_fired
            + self.waits_expired
            + self.fanins_repaired
            + self.triggered
            + self.scheduled
            + self.cancels_killed
            + self.notifications_redelivered
        )


class ExecutionStore(abc.ABC):
    """Persistence of executions, steps, waits and events (see module docstring)."""

    # --- creating and reading ------------------------------------------------------------------

    @abc.abstractmethod
    def create_executions(self, requests: Sequence[NewExecution]) -> list[ExecutionRecord]:
        """Create top-level executions (queued) and ring their doorbells after commit."""

    @abc.abstractmethod
    def get_execution(self, execution_id: str, project_id: str | None = None) -> ExecutionRecord | None:
        """Return the execution, or ``None`` (also when it belongs to another project)."""

    @abc.abstractmethod
    def list_events(self, topic: str, after: int = 0, limit: int = 1000) -> list[EventRecord]:
        """Events on ``topic`` with a sequence id above ``after``, oldest first."""

    # --- running -----------------------------------------------------------------------------

    @abc.abstractmethod
    def claim(self, execution_id: str, owner: str, lease_seconds: float) -> Claim | None:
        """Take a queued execution (or one whose lease expired); ``None`` if it is not claimable."""

    @abc.abstractmethod
    def load_steps(self, execution_id: str) -> dict[str, StepRecord]:
        """All recorded steps of the execution, in one query."""

    @abc.abstractmethod
    def record_step(self, claim: Claim, write: StepWrite) -> list[ExecutionRecord]:
        """Record a step and its side effects; returns created children.

        Raises:
            LeaseLostError: the claim is no longer valid (nothing was written).
        """

    @abc.abstractmethod
    def wait(self, claim: Claim, spec: WaitSpec, run_seconds: float) -> list[ExecutionRecord]:
        """Start waiting: write the wait, set ``waiting``, release the lease; returns created children."""

    @abc.abstractmethod
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
        """Finish the execution (completed, failed, cancelled) and wake a waiting parent."""

    @abc.abstractmethod
    def retry_later(self, claim: Claim, error: str, due_at: dt.datetime, run_seconds: float) -> None:
        """Schedule an execution-level retry: a durable timer, ``retry_count`` incremented."""

    @abc.abstractmethod
    def renew(self, claim: Claim, lease_seconds: float) -> None:
        """Extend the lease; sets ``claim.lost`` / ``claim.cancel_requested`` from the stored row."""

    # --- acting from outside -------------------------------------------------------------------

    @abc.abstractmethod
    def resume(self, request: ResumeRequest, project_id: str | None = None) -> EventRecord:
        """Satisfy a suspend with ``data``; raises ``NotResumableError`` if nothing waits on that key."""

    @abc.abstractmethod
    def publish_events(self, topic: str, events: Sequence[NewEvent], project_id: str = "default") -> list[EventRecord]:
        """Publish events on a topic and wake executions waiting for them."""

    @abc.abstractmethod
    def cancel(self, execution_id: str, project_id: str | None = None) -> bool:
        """Cancel an execution and its children; ``False`` if it had already finished."""

    @abc.abstractmethod
    def reap(self, now: dt.datetime | None = None) -> ReapReport:
        """Recover lost work: expired leases, lost doorbells, due timers, expired waits."""

    def approval_url(self, execution: ExecutionRecord, step_key: str, expires_at: dt.datetime | None) -> str | None:
        """The URL of the approval page for a suspend (``None`` when there is no page)."""
        return None

    def is_transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is an infrastructure failure worth an execution-level retry."""
        return isinstance(exc, ConnectionError | TimeoutError)
