"""Running one execution: claim, replay, run, record.

This is the whole execution model on the SDK side.  A store (see :mod:`polos.store`) persists
everything; something outside (a Celery task, or the in-memory runner in tests) calls
:func:`run_execution` whenever an execution's doorbell rings.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import serialization
from .context import WorkflowContext, _current
from .exceptions import (
    LeaseLost,
    PolosError,
    RetryableError,
    WorkflowCancelled,
    WorkflowNotFoundError,
    WorkflowSuspended,
    WorkflowTimeoutError,
)
from .store import CANCELLED, COMPLETED, FAILED, Claim, ExecutionStore, StepRecord, utcnow
from .tracing import workflow_span
from .workflow import Workflow, get_workflow

logger = logging.getLogger("polos.runtime")


@dataclass(slots=True)
class RuntimeSettings:
    """Tunables of the runtime (``polos_django`` fills them from ``settings.POLOS``)."""

    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    inline_wait_max_seconds: float = 5.0
    execution_max_retries: int = 3
    execution_retry_base_delay: float = 2.0
    execution_retry_max_delay: float = 300.0


def worker_identity() -> str:
    """``host:pid`` of this process: the owner written into leases."""
    return f"{socket.gethostname()}:{os.getpid()}"


def error_info(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return json.dumps({"message": message, "type": type(exc).__name__, "code": getattr(exc, "code", None)})


class ExecutionRun:
    """The state of one run of one execution (one Celery task, or one in-memory pass)."""

    def __init__(
        self,
        store: ExecutionStore,
        claim: Claim,
        steps: dict[str, StepRecord],
        workflow: Workflow,
        settings: RuntimeSettings,
    ) -> None:
        self.store = store
        self.claim = claim
        self.steps = steps
        self.workflow = workflow
        self.settings = settings
        self.used_keys: set[str] = set()
        self.started = time.monotonic()
        record = claim.execution
        self.execution_id = record.id
        self.deadline: float | None = None
        if record.run_timeout_seconds:
            self.deadline = self.started + max(0.0, record.run_timeout_seconds - record.run_seconds)
        context_class = getattr(workflow, "context_class", WorkflowContext)  # agents: AgentContext
        self.context = context_class(self, self._initial_state())
        self._last_state = self._dump_state()

    # --- state -------------------------------------------------------------------------------

    def _initial_state(self) -> Any:
        schema = self.workflow.state_schema
        if schema is None:
            return None
        initial = serialization.loads(self.claim.execution.initial_state)
        if initial is None:
            return schema()
        return initial if isinstance(initial, schema) else schema.model_validate(initial)

    def _dump_state(self) -> str | None:
        state = self.context.state
        return state.model_dump_json() if state is not None else None

    def state_snapshot(self) -> str | None:
        return self._dump_state()

    def state_delta(self) -> str | None:
        """The state as JSON if it changed since the last recorded step, else ``None``."""
        if self.context.state is None:
            return None
        dump = self._dump_state()
        if dump == self._last_state:
            return None
        self._last_state = dump
        return dump

    def restore_state(self, record: StepRecord) -> None:
        schema = self.workflow.state_schema
        if record.state is not None and schema is not None:
            self.context.state = schema.model_validate_json(record.state)
            self._last_state = record.state

    # --- boundaries --------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def check_boundary(self) -> None:
        """Called before every new step: stop on a lost lease, a cancel or a run timeout."""
        claim = self.claim
        if claim.lost:
            raise LeaseLost(self.execution_id)
        if claim.cancel_requested:
            raise WorkflowCancelled(self.execution_id)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WorkflowTimeoutError(self._timeout_message())

    def _timeout_message(self) -> str:
        return (
            f"execution {self.execution_id} of {self.claim.execution.workflow_id!r} ran longer than its "
            f"run_timeout_seconds={self.claim.execution.run_timeout_seconds}"
        )

    # --- the run -----------------------------------------------------------------------------

    async def _body(self, payload: Any) -> Any:
        ctx = self.context
        for index, hook in enumerate(self.workflow.on_start):
            await ctx.step.run(f"_on_start_{index}", hook, ctx, payload, max_retries=0)
        result = self.workflow.call(ctx, payload)
        if inspect.isawaitable(result):
            result = await result
        for index, hook in enumerate(self.workflow.on_end):
            await ctx.step.run(f"_on_end_{index}", hook, ctx, result, max_retries=0)
        return result

    async def execute(self) -> str:
        """Run the workflow function to its end or its next wait; returns the outcome."""
        record = self.claim.execution
        token = _current.set(self.context)
        try:
            payload = serialization.loads(record.payload)
            with workflow_span(record):
                remaining = self.remaining()
                if remaining is None:
                    result = await self._body(payload)
                else:
                    try:
                        result = await asyncio.wait_for(self._body(payload), timeout=remaining)
                    except TimeoutError:
                        raise WorkflowTimeoutError(self._timeout_message()) from None
            output = serialization.dumps(result)
        except WorkflowSuspended:
            return "waiting"
        except LeaseLost:
            logger.warning("execution %s: lease lost, another worker owns it now", record.id)
            return "lost"
        except WorkflowCancelled:
            return self._finish(CANCELLED, error=json.dumps({"message": "cancelled", "type": "WorkflowCancelled"}))
        except Exception as exc:  # the workflow failed
            return self._fail(exc)
        finally:
            _current.reset(token)
        return self._finish(COMPLETED, result=output)

    def _finish(self, status: str, *, result: str | None = None, error: str | None = None) -> str:
        try:
            self.store.finish(
                self.claim, status, result=result, error=error, state=self.state_snapshot(), run_seconds=self.elapsed()
            )
        except LeaseLost:
            return "lost"
        return status

    def _fail(self, exc: Exception) -> str:
        record = self.claim.execution
        retryable = isinstance(exc, RetryableError) or (
            not isinstance(exc, PolosError) and self.store.is_transient(exc)
        )
        settings = self.settings
        if retryable and record.retry_count < settings.execution_max_retries:
            delay = min(
                settings.execution_retry_base_delay * (2**record.retry_count), settings.execution_retry_max_delay
            )
            logger.warning(
                "execution %s failed (%s); retry %d in %.1f s", record.id, exc, record.retry_count + 1, delay
            )
            try:
                self.store.retry_later(
                    self.claim, error_info(exc), utcnow() + dt.timedelta(seconds=delay), self.elapsed()
                )
            except LeaseLost:
                return "lost"
            return "retrying"
        if not isinstance(exc, PolosError):
            logger.exception("execution %s of %r failed", record.id, record.workflow_id, exc_info=exc)
        return self._finish(FAILED, error=error_info(exc))


class Heartbeat:
    """Renews the leases of running executions from a background thread."""

    def __init__(self, store: ExecutionStore, settings: RuntimeSettings) -> None:
        self.store = store
        self.settings = settings
        self._claims: set[int] = set()
        self._by_id: dict[int, Claim] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, claim: Claim) -> None:
        with self._lock:
            self._by_id[id(claim)] = claim
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="polos-heartbeat", daemon=True)
                self._thread.start()

    def remove(self, claim: Claim) -> None:
        with self._lock:
            self._by_id.pop(id(claim), None)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.settings.heartbeat_seconds)
            with self._lock:
                claims = list(self._by_id.values())
            for claim in claims:
                try:
                    self.store.renew(claim, self.settings.lease_seconds)
                except Exception:  # a failed renewal is retried on the next beat
                    logger.exception("could not renew the lease of execution %s", claim.execution.id)


#: ``async def hook(store, record, outcome)`` called after a root execution finished (completed, failed
#: or cancelled) in this process; releases what the whole execution tree held (sandboxes). A failing
#: hook is logged and never changes the outcome.
ROOT_FINISH_HOOKS: list[Any] = []


async def _root_finished(store: ExecutionStore, record: Any, outcome: str) -> None:
    for hook in list(ROOT_FINISH_HOOKS):
        try:
            await hook(store, record, outcome)
        except Exception:
            logger.exception("root-finish hook %r failed for execution %s", hook, record.id)


async def run_execution(
    store: ExecutionStore,
    execution_id: str,
    *,
    owner: str | None = None,
    settings: RuntimeSettings | None = None,
    heartbeat: Heartbeat | None = None,
) -> str:
    """Claim and run one execution; returns the outcome.

    Outcomes: ``"skipped"`` (not claimable: already running elsewhere, waiting or finished),
    ``"waiting"``, ``"completed"``, ``"failed"``, ``"cancelled"``, ``"retrying"``, ``"lost"``.
    """
    settings = settings or RuntimeSettings()
    claim = store.claim(execution_id, owner or worker_identity(), settings.lease_seconds)
    if claim is None:
        return "skipped"
    record = claim.execution
    if claim.cancel_requested:
        store.finish(claim, CANCELLED, error=json.dumps({"message": "cancelled", "type": "WorkflowCancelled"}))
        return CANCELLED
    workflow = get_workflow(record.workflow_id)
    if workflow is None:
        error = WorkflowNotFoundError(
            f"workflow {record.workflow_id!r} is not registered in the worker {worker_identity()}; "
            "start a worker that imports the module defining it"
        )
        store.finish(claim, FAILED, error=error_info(error))
        return FAILED
    steps = store.load_steps(record.id)  # a store may claim another execution than asked (a lane's head)
    try:
        run = ExecutionRun(store, claim, steps, workflow, settings)
    except Exception as exc:  # e.g. a stored state that no longer matches state_schema
        logger.exception("execution %s of %r could not start", record.id, record.workflow_id)
        store.finish(claim, FAILED, error=error_info(exc))
        return FAILED
    if heartbeat is not None:
        heartbeat.add(claim)
    try:
        outcome = await run.execute()
    finally:
        if heartbeat is not None:
            heartbeat.remove(claim)
    if ROOT_FINISH_HOOKS and record.parent_execution_id is None and outcome in (COMPLETED, FAILED, CANCELLED):
        await _root_finished(store, record, outcome)
    return outcome
