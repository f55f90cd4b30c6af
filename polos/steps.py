"""``ctx.step``: the durable step primitives.

Every primitive takes a step key.  The first run of a key executes it and records its result (or
failure) before the workflow continues; every later run of the same execution (a replay after a
wait, a crash or a retry) returns the recorded value without side effects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import random as _random
import time
import uuid as _uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import serialization, tracing
from .exceptions import (
    ConfigurationError,
    ExecutionSignal,
    NonDeterminismError,
    PolosError,
    SerializationError,
    StepExecutionError,
    StepTimeoutError,
    WorkflowSuspended,
)
from .store import (
    STEP_COMPLETED,
    STEP_FAILED,
    WAIT_BATCH,
    WAIT_CHILD,
    WAIT_EVENT,
    WAIT_SUSPEND,
    WAIT_TIMER,
    NewEvent,
    NewExecution,
    ResumeRequest,
    StepRecord,
    StepWrite,
    WaitSpec,
    utcnow,
)
from .tracing import span
from .types import BatchStepResult, BatchWorkflowInput, EventPayload, ExecutionHandle
from .workflow import Workflow, get_workflow

if TYPE_CHECKING:
    from .context import WorkflowContext
    from .runtime import ExecutionRun

# Step kinds as recorded (persisted names: do not change).
RUN = "run"
UUID = "uuid"
RANDOM = "random"
NOW = "now"
WAIT = "wait"
EVENT = "wait_for_event"
PUBLISH = "publish_event"
SUSPEND = "suspend"
RESUME = "resume"
INVOKE = "invoke"
INVOKE_WAIT = "invoke_and_wait"
BATCH_INVOKE = "batch_invoke"
BATCH_WAIT = "batch_invoke_and_wait"

# Events that describe a workflow's own progress; they never satisfy wait_for_event or triggers.
# The agent loop's progress events are trace events too (a token delta must not wake a waiter).
AGENT_TRACE_EVENT_TYPES = frozenset(
    {
        "agent_start",
        "stream_start",
        "text_delta",
        "reasoning_delta",
        "tool_call",
        "tool_start",
        "tool_finish",
        "llm_error",
    }
)
TRACE_EVENT_TYPES = frozenset({"step_start", "step_finish", "workflow_start"}) | AGENT_TRACE_EVENT_TYPES

_ERROR_TYPES: dict[str, type[StepExecutionError]] = {"StepTimeoutError": StepTimeoutError}


def error_json(message: str, error_type: str) -> str:
    return json.dumps({"message": message, "type": error_type})


def raise_recorded_failure(record: StepRecord) -> None:
    """Raise the failure recorded for a step, identically on every replay."""
    info = serialization.loads_plain(record.error) or {}
    error_type = info.get("type") or "Exception"
    cls = _ERROR_TYPES.get(error_type, StepExecutionError)
    raise cls(info.get("message") or f"step {record.key!r} failed", step_key=record.key, error_type=error_type)


class Step:
    """The durable step primitives, available as ``ctx.step``."""

    def __init__(self, run: ExecutionRun, ctx: WorkflowContext) -> None:
        self._run = run
        self._ctx = ctx

    # --- bookkeeping ---------------------------------------------------------------------------

    def _lookup(self, key: str, kind: str) -> StepRecord | None:
        run = self._run
        if not isinstance(key, str) or not key:
            raise ConfigurationError(f"a step key must be a non-empty string, got {key!r}")
        if key in run.used_keys:
            raise NonDeterminismError(
                f"step key {key!r} was used twice in one run of {run.claim.execution.workflow_id!r}; "
                "every step needs its own key (in a loop, add the index: f'{key}-{i}')",
                step_key=key,
            )
        run.used_keys.add(key)
        record = run.steps.get(key)
        if record is not None:
            if record.kind != kind:
                raise NonDeterminismError(
                    f"step key {key!r} was recorded as a {record.kind!r} step but this run asks for a "
                    f"{kind!r} step: workflow code must call the same steps with the same keys on every run",
                    step_key=key,
                )
            run.restore_state(record)
            return record
        run.check_boundary()
        return None

    def _value(self, record: StepRecord) -> Any:
        if record.status == STEP_FAILED:
            raise_recorded_failure(record)
        return serialization.loads(record.output)

    def _write(
        self,
        key: str,
        kind: str,
        *,
        output: str | None = None,
        error: str | None = None,
        started: float | None = None,
        events: Sequence[NewEvent] = (),
        children: Sequence[NewExecution] = (),
        resumes: Sequence[ResumeRequest] = (),
    ) -> None:
        run = self._run
        status = STEP_FAILED if error is not None else STEP_COMPLETED
        record = StepRecord(key=key, kind=kind, status=status, output=output, error=error, state=run.state_delta())
        finish: dict[str, Any] = {
            "step_key": key,
            "step_type": kind,
            "status": status,
            "execution_id": run.execution_id,
        }
        if started is not None:
            finish["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        if error is not None:
            finish["error"] = serialization.loads_plain(error).get("message")
        all_events = [*events, NewEvent("step_finish", finish)]
        run.store.record_step(run.claim, StepWrite(record, all_events, children, resumes))
        run.steps[key] = record

    def _wait(self, spec: WaitSpec) -> None:
        run = self._run
        spec.state = run.state_snapshot()
        run.store.wait(run.claim, spec, run.elapsed())
        raise WorkflowSuspended(spec.step_key)

    # --- run ---------------------------------------------------------------------------------

    async def run(
        self,
        key: str,
        fn: Callable[..., Any],
        *args: Any,
        max_retries: int = 2,
        base_delay: float = 1.0,
        max_delay: float = 10.0,
        **kwargs: Any,
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` once, durably; sync functions run in a thread.

        Failures are retried ``max_retries`` times with exponential backoff (``base_delay`` doubling up to
        ``max_delay``); a backoff longer than the inline-wait limit becomes a durable timer.  The final
        failure is recorded and raised as :class:`StepExecutionError` on this and every later replay.
        """
        record = self._lookup(key, RUN)
        if record is not None:
            return self._value(record)
        if not callable(fn):
            raise ConfigurationError(f"step {key!r}: ctx.step.run needs a callable, got {type(fn).__name__}")
        if max_retries < 0 or base_delay < 0 or max_delay < 0:
            raise ConfigurationError(f"step {key!r}: max_retries, base_delay and max_delay must not be negative")
        attempt = self._recorded_retry_timers(key)
        started = time.monotonic()
        while True:
            try:
                with span(f"step.{key}", {"step.key": key, "step.attempt": attempt}):
                    if inspect.iscoroutinefunction(fn):
                        result = await fn(*args, **kwargs)
                    else:
                        result = await asyncio.to_thread(fn, *args, **kwargs)
                        if inspect.isawaitable(result):
                            result = await result
            except ExecutionSignal:
                raise
            except Exception as exc:
                if attempt >= max_retries:
                    message = f"step {key!r} failed after {attempt + 1} attempt(s): {type(exc).__name__}: {exc}"
                    self._write(key, RUN, error=error_json(message, type(exc).__name__), started=started)
                    raise StepExecutionError(message, step_key=key, error_type=type(exc).__name__) from exc
                delay = min(base_delay * (2**attempt), max_delay)
                attempt += 1
                self._run.check_boundary()
                if delay > self._run.settings.inline_wait_max_seconds:
                    self._wait(
                        WaitSpec(WAIT_TIMER, _retry_key(key, attempt), due_at=utcnow() + dt.timedelta(seconds=delay))
                    )
                await asyncio.sleep(delay)
                continue
            try:
                output = serialization.dumps(result)
            except SerializationError as exc:
                # Not retried: running the function again would repeat its side effects for nothing.
                message = f"step {key!r} returned a value that cannot be recorded: {exc}"
                self._write(key, RUN, error=error_json(message, type(exc).__name__), started=started)
                raise StepExecutionError(message, step_key=key, error_type=type(exc).__name__) from exc
            self._write(key, RUN, output=output, started=started)
            return result

    def _recorded_retry_timers(self, key: str) -> int:
        """Attempts already made in earlier runs (each long backoff left a recorded timer)."""
        attempts = 0
        while (record := self._run.steps.get(_retry_key(key, attempts + 1))) is not None and record.kind == WAIT:
            attempts += 1
            self._run.used_keys.add(_retry_key(key, attempts))
        return attempts

    # --- deterministic values ------------------------------------------------------------------

    async def uuid(self, key: str) -> str:
        """A random UUID (string), the same on every replay."""
        record = self._lookup(key, UUID)
        if record is not None:
            return str(self._value(record))
        value = str(_uuid.uuid4())
        self._write(key, UUID, output=json.dumps(value))
        return value

    async def random(self, key: str) -> float:
        """A random float in [0, 1), the same on every replay."""
        record = self._lookup(key, RANDOM)
        if record is not None:
            return float(self._value(record))
        value = _random.random()
        self._write(key, RANDOM, output=json.dumps(value))
        return value

    async def now(self, key: str) -> int:
        """The current time in epoch milliseconds, the same on every replay."""
        record = self._lookup(key, NOW)
        if record is not None:
            return int(self._value(record))
        value = int(time.time() * 1000)
        self._write(key, NOW, output=json.dumps(value))
        return value

    # --- waiting -------------------------------------------------------------------------------

    async def wait_for(
        self,
        key: str,
        seconds: float | None = None,
        minutes: float | None = None,
        hours: float | None = None,
        days: float | None = None,
        weeks: float | None = None,
    ) -> None:
        """Sleep durably.  Short waits sleep in the worker; long ones free it (a durable timer)."""
        total = dt.timedelta(
            seconds=seconds or 0, minutes=minutes or 0, hours=hours or 0, days=days or 0, weeks=weeks or 0
        ).total_seconds()
        if total < 0:
            raise ConfigurationError(f"step {key!r}: wait_for needs a positive duration, got {total} s")
        await self._sleep(key, total, None)

    async def wait_until(self, key: str, date: dt.datetime) -> None:
        """Sleep durably until ``date`` (naive datetimes are taken as UTC)."""
        if not isinstance(date, dt.datetime):
            raise ConfigurationError(f"step {key!r}: wait_until needs a datetime, got {type(date).__name__}")
        if date.tzinfo is None:
            date = date.replace(tzinfo=dt.UTC)
        await self._sleep(key, (date - utcnow()).total_seconds(), date)

    async def _sleep(self, key: str, seconds: float, until: dt.datetime | None) -> None:
        record = self._lookup(key, WAIT)
        if record is not None:
            self._value(record)
            return
        if seconds > self._run.settings.inline_wait_max_seconds:
            due = until or utcnow() + dt.timedelta(seconds=seconds)
            self._wait(WaitSpec(WAIT_TIMER, key, due_at=due))
        started = time.monotonic()
        if seconds > 0:
            await asyncio.sleep(seconds)
        self._write(key, WAIT, output="null", started=started)

    async def wait_for_event(self, key: str, topic: str, timeout: float | None = None) -> EventPayload:
        """Wait for the next event published on ``topic`` after this wait began.

        With ``timeout`` (seconds) the step fails with :class:`StepTimeoutError` if no event came.
        """
        record = self._lookup(key, EVENT)
        if record is not None:
            return EventPayload.model_validate(self._value(record))
        if not isinstance(topic, str) or not topic:
            raise ConfigurationError(f"step {key!r}: wait_for_event needs a topic name")
        expires = _expiry(key, timeout)
        self._wait(WaitSpec(WAIT_EVENT, key, topic=topic, expires_at=expires))
        raise AssertionError("unreachable")  # pragma: no cover

    async def suspend(self, key: str, data: Any = None, timeout: float | None = None) -> dict[str, Any]:
        """Pause until someone resumes this step; returns the resume event (read ``["data"]``).

        Publishes ``suspend_{key}`` on the workflow topic with ``data`` plus ``_approval_url``.  With
        ``timeout`` (seconds) the step fails with :class:`StepTimeoutError` when nobody resumed it.
        """
        record = self._lookup(key, SUSPEND)
        if record is not None:
            value = self._value(record)
            return value if isinstance(value, dict) else {"data": value}
        expires = _expiry(key, timeout)
        payload = serialization.to_jsonable(data) if data is not None else {}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        payload = dict(payload)
        payload["_approval_url"] = self._run.store.approval_url(self._run.claim.execution, key, expires)
        if expires is not None and isinstance(payload.get("_form"), dict):
            payload["_form"].setdefault("expiresAt", expires.isoformat())
        self._wait(WaitSpec(WAIT_SUSPEND, key, expires_at=expires, events=[NewEvent(f"suspend_{key}", payload)]))
        raise AssertionError("unreachable")  # pragma: no cover

    async def resume(
        self,
        key: str,
        suspend_step_key: str,
        suspend_execution_id: str,
        suspend_workflow_id: str,
        data: Any = None,
    ) -> None:
        """Resume another execution's suspend, once (a failure to resume fails this step)."""
        record = self._lookup(key, RESUME)
        if record is not None:
            self._value(record)
            return
        request = ResumeRequest(suspend_execution_id, suspend_step_key, serialization.to_jsonable(data))
        try:
            self._write(key, RESUME, output="null", resumes=[request])
        except PolosError as exc:
            message = f"step {key!r} could not resume {suspend_workflow_id}/{suspend_execution_id}: {exc}"
            self._write(key, RESUME, error=error_json(message, type(exc).__name__))
            raise StepExecutionError(message, step_key=key, error_type=type(exc).__name__) from exc

    # --- events ------------------------------------------------------------------------------

    async def publish_event(self, key: str, topic: str, data: Any = None, event_type: str | None = None) -> None:
        """Publish an event on ``topic``, once."""
        record = self._lookup(key, PUBLISH)
        if record is not None:
            return
        if not isinstance(topic, str) or not topic:
            raise ConfigurationError(f"step {key!r}: publish_event needs a topic name")
        event = NewEvent(event_type, serialization.to_jsonable(data), topic)
        self._write(key, PUBLISH, output="null", events=[event])

    async def publish_workflow_event(self, key: str, data: Any = None, event_type: str | None = None) -> None:
        """Publish an event on this workflow's own topic, once."""
        await self.publish_event(key, self._ctx.topic, data, event_type)

    # --- child workflows -----------------------------------------------------------------------

    def _child(
        self,
        key: str,
        workflow: Workflow | str,
        payload: Any,
        *,
        initial_state: Any = None,
        run_timeout_seconds: float | None = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
        batch_index: int | None = None,
    ) -> NewExecution:
        wf = workflow if isinstance(workflow, Workflow) else get_workflow(str(workflow))
        workflow_id = workflow.id if isinstance(workflow, Workflow) else str(workflow)
        if wf is not None:
            payload = wf.prepare_payload(payload)
        ctx = self._ctx
        queue_name = queue or (wf.queue.name if wf is not None and wf.queue else None)
        child = NewExecution(
            workflow_id=workflow_id,
            payload=serialization.dumps(payload),
            id=str(_uuid.uuid4()),
            project_id=ctx.project_id,
            session_id=ctx.session_id,
            user_id=ctx.user_id,
            queue_name=queue_name,
            concurrency_key=concurrency_key,
            workflow_type=wf.workflow_type if wf is not None else "workflow",
            initial_state=(
                wf.prepare_initial_state(initial_state)
                if wf is not None
                else serialization.dumps(initial_state)
                if initial_state is not None
                else None
            ),
            run_timeout_seconds=run_timeout_seconds,
            batch_index=batch_index,
        )
        tracing.invoked(child.id or "", workflow_id, key)  # the span the child's runs continue from
        return child

    def _handle(self, key: str, child: NewExecution) -> ExecutionHandle:
        ctx = self._ctx
        return ExecutionHandle(
            id=child.id or "",
            workflow_id=child.workflow_id,
            created_at=utcnow().isoformat(),
            parent_execution_id=ctx.execution_id,
            root_workflow_id=ctx.root_workflow_id,
            root_execution_id=ctx.root_execution_id,
            session_id=child.session_id,
            user_id=child.user_id,
            step_key=key,
        )

    async def invoke(
        self,
        key: str,
        workflow: Workflow | str,
        payload: Any = None,
        initial_state: BaseModel | dict[str, Any] | None = None,
        run_timeout_seconds: int | None = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
    ) -> ExecutionHandle:
        """Start a child workflow once and return its handle without waiting."""
        record = self._lookup(key, INVOKE)
        if record is not None:
            return ExecutionHandle.model_validate(self._value(record))
        child = self._child(
            key,
            workflow,
            payload,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
            queue=queue,
            concurrency_key=concurrency_key,
        )
        handle = self._handle(key, child)
        self._write(key, INVOKE, output=serialization.dumps(handle.model_dump()), children=[child])
        return handle

    async def invoke_and_wait(
        self,
        key: str,
        workflow: Workflow | str,
        payload: Any = None,
        initial_state: BaseModel | dict[str, Any] | None = None,
        run_timeout_seconds: int | None = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
    ) -> Any:
        """Run a child workflow and return its result; the parent frees its worker while it waits.

        A failed child raises :class:`StepExecutionError` in the parent.
        """
        record = self._lookup(key, INVOKE_WAIT)
        if record is not None:
            return self._value(record)
        child = self._child(
            key,
            workflow,
            payload,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
            queue=queue,
            concurrency_key=concurrency_key,
        )
        self._wait(WaitSpec(WAIT_CHILD, key, children=[child]))
        raise AssertionError("unreachable")  # pragma: no cover

    def _batch_children(self, key: str, workflows: Sequence[BatchWorkflowInput | dict[str, Any]]) -> list[NewExecution]:
        children = []
        for index, item in enumerate(workflows):
            spec = item if isinstance(item, BatchWorkflowInput) else BatchWorkflowInput.model_validate(item)
            children.append(
                self._child(
                    key,
                    spec.id,
                    spec.payload,
                    initial_state=spec.initial_state,
                    run_timeout_seconds=spec.run_timeout_seconds,
                    batch_index=index,
                )
            )
        return children

    async def batch_invoke(
        self, key: str, workflows: Sequence[BatchWorkflowInput | dict[str, Any]]
    ) -> list[ExecutionHandle]:
        """Start several child workflows at once; returns their handles in request order."""
        record = self._lookup(key, BATCH_INVOKE)
        if record is not None:
            return [ExecutionHandle.model_validate(h) for h in self._value(record)]
        children = self._batch_children(key, workflows)
        handles = [self._handle(key, c) for c in children]
        self._write(key, BATCH_INVOKE, output=serialization.dumps([h.model_dump() for h in handles]), children=children)
        return handles

    async def batch_invoke_and_wait(
        self, key: str, workflows: Sequence[BatchWorkflowInput | dict[str, Any]]
    ) -> list[BatchStepResult]:
        """Fan out to several child workflows and wait for all; results in request order.

        Failures are per item (``success=False`` and ``error``); the step itself does not fail.
        """
        record = self._lookup(key, BATCH_WAIT)
        if record is not None:
            return [BatchStepResult.model_validate(r) for r in self._value(record)]
        children = self._batch_children(key, workflows)
        if not children:
            self._write(key, BATCH_WAIT, output="[]")
            return []
        self._wait(WaitSpec(WAIT_BATCH, key, children=children))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- agents ------------------------------------------------------------------------------

    async def agent_invoke(self, key: str, config: Any) -> ExecutionHandle:
        """Start an agent run (``agent.with_input(...)``) once, without waiting."""
        agent, payload, options = _agent_run(key, config)
        return await self.invoke(key, agent, payload, **options)

    async def agent_invoke_and_wait(self, key: str, config: Any) -> Any:
        """Run an agent (``agent.with_input(...)``) and return its ``AgentResult``; frees the worker meanwhile."""
        agent, payload, options = _agent_run(key, config)
        return agent.coerce_result(await self.invoke_and_wait(key, agent, payload, **options))

    async def batch_agent_invoke(self, key: str, configs: Sequence[Any]) -> list[ExecutionHandle]:
        """Start several agent runs at once; their handles in request order."""
        return await self.batch_invoke(key, [_agent_batch_item(key, c) for c in configs])

    async def batch_agent_invoke_and_wait(self, key: str, configs: Sequence[Any]) -> list[BatchStepResult]:
        """Run several agents in parallel and wait for all; each ``.result`` is an ``AgentResult``."""
        items = [_agent_batch_item(key, c) for c in configs]
        results = await self.batch_invoke_and_wait(key, items)
        for config, item in zip(configs, results, strict=False):
            if item.success and item.result is not None:
                item.result = config.agent.coerce_result(item.result)
        return results

    # --- tracing -----------------------------------------------------------------------------

    @contextmanager
    def trace(self, name: str, attributes: dict[str, Any] | None = None) -> Iterator[Any]:
        """A custom span around a block of workflow code (not durable; for observability)."""
        attrs = {"execution.id": self._ctx.execution_id, "workflow.id": self._ctx.workflow_id, **(attributes or {})}
        with span(name, attrs) as current:
            yield current


def _agent_run(key: str, config: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from .agents.agent import AgentRunConfig

    if not isinstance(config, AgentRunConfig):
        raise ConfigurationError(f"step {key!r}: agent steps take agent.with_input(...), got {type(config).__name__}")
    options: dict[str, Any] = {"initial_state": config.initial_state, "run_timeout_seconds": config.run_timeout_seconds}
    return config.agent, config.payload(), options


def _agent_batch_item(key: str, config: Any) -> BatchWorkflowInput:
    agent, payload, options = _agent_run(key, config)
    return BatchWorkflowInput(id=agent.id, payload=payload, **options)


def _retry_key(key: str, attempt: int) -> str:
    return f"{key}#retry-{attempt}"


def _expiry(key: str, timeout: float | None) -> dt.datetime | None:
    if timeout is None:
        return None
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError(f"step {key!r}: timeout must be a positive number of seconds, got {timeout!r}")
    return utcnow() + dt.timedelta(seconds=timeout)


def timeout_error(kind: str, key: str) -> str:
    """The recorded error of a wait that expired (used by stores)."""
    what = "suspend" if kind == WAIT_SUSPEND else "wait_for_event"
    return error_json(f"{what} step {key!r} timed out before it was satisfied", StepTimeoutError.__name__)


__all__ = ["Step"]
