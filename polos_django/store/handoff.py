"""Hand-off: the worker that frees a slot of a limited lane runs the lane's next execution itself.

A limited lane rations its doorbells (see :mod:`.lanes`): when a running execution stops, the
lane's next queued execution is rung.  Ringing means a Celery message out to the broker and back
to some worker, which is most of what a short execution costs.  While a run task is young (less
than ``POLOS["LANE_HANDOFF_SECONDS"]`` since its message was delivered), the next execution is
instead handed to the task that freed the slot, which claims and runs it without a message.  The
database still decides: the hand-off is one more doorbell, claimed by the same admission.  What is
handed off is the lane's first queued execution (priority, then age), rung or not: one rung earlier
may still have its doorbell on the way, behind other messages, and must not be overtaken.  That
doorbell is not wasted: a limited lane's doorbell stands for a slot, and one whose execution was
taken claims the lane's first rung execution instead (``DjangoStore.claim``), so when the task takes
an execution rung earlier, the one rung by the release gets no doorbell of its own.

Only an execution of the Celery queue the task was delivered from is taken (dedicated workers keep
their queues), one at a time.  Once the budget is spent the task returns and its worker takes its
next message, so a busy lane cannot keep a worker from the rest of its queue for longer than the
budget.  An execution offered but never run (the task failed or its process died) has its
doorbell rung, or, if even that is lost, is re-rung by the reaper like any lost doorbell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import doorbell
from ..checks import seconds_error
from ..conf import polos_settings
from .running import running_task

Lane = doorbell.Lane


@dataclass
class HandOff:
    """The hand-off budget of one run task (``running_task.handoff``)."""

    celery_queue: str | None
    deadline: float
    pending: list[tuple[str, Lane]] = field(default_factory=list)

    @classmethod
    def start(cls, celery_queue: str | None) -> HandOff | None:
        """A budget for a task delivered from ``celery_queue`` (``None`` when hand-offs are off)."""
        seconds = polos_settings.LANE_HANDOFF_SECONDS
        if seconds_error("LANE_HANDOFF_SECONDS", seconds, allow_zero=True):
            # A bad value is reported by the system check (polos.E102); runs go on without hand-offs.
            return None
        if seconds == 0 or not celery_queue:
            return None
        return cls(celery_queue, time.monotonic() + float(seconds))

    def can_take(self) -> bool:
        """Whether the task is young enough and has nothing handed to it yet."""
        return not self.pending and time.monotonic() < self.deadline

    def offer(self, execution_id: str, queue_name: str | None, lane: Lane) -> bool:
        """Keep ``execution_id`` (just rung in the database) for this task instead of sending its doorbell."""
        if not self.can_take() or doorbell.celery_queue(queue_name) != self.celery_queue:
            return False
        self.pending.append((execution_id, lane))
        return True

    def take(self) -> tuple[str, Lane] | None:
        """The execution to run next in this task, if one was handed off."""
        return self.pending.pop() if self.pending else None

    def release(self) -> None:
        """Send the doorbells of executions offered but not run."""
        while self.pending:
            execution_id, lane = self.pending.pop()
            doorbell.ring(execution_id, lane[0], lane=lane)


def active() -> HandOff | None:
    """The hand-off budget of the run task of this thread, if it can still take an execution."""
    task: HandOff | None = getattr(running_task, "handoff", None)
    return task if task is not None and task.can_take() else None


def dispatch(rung: list[str], queue_name: str | None, lane: Lane, top: str | None) -> None:
    """After a release committed: hand the lane's first queued execution ``top`` to the running task
    if it takes it, and send the doorbells of the executions just ``rung`` (but that one).

    ``top`` may have been rung before (its doorbell is still on its way, behind other messages):
    taking it keeps priorities in order, and its doorbell serves the next one.
    """
    task = active()
    taken = top if top is not None and task is not None and task.offer(top, queue_name, lane) else None
    doorbells = [execution_id for execution_id in rung if execution_id != taken]
    if taken is not None and taken not in rung and doorbells:
        # ``top`` was rung earlier: its doorbell, still on the way, finds it taken and claims the
        # lane's first rung execution instead (DjangoStore.claim), so one execution rung now needs
        # no doorbell of its own.
        doorbells.pop()
    for execution_id in doorbells:
        doorbell.ring(execution_id, queue_name, lane=lane)
