"""``@workflow``, the :class:`Workflow` object and the workflow registry."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, get_type_hints

import pydantic
from pydantic import BaseModel

from . import serialization
from .cron import validate_cron, validate_timezone
from .exceptions import (
    ConfigurationError,
    PayloadValidationError,
    WorkflowDefinitionError,
    WorkflowNotFoundError,
)
from .queues import Queue, as_queue, check_priority
from .state import WorkflowState
from .types import ExecutionHandle

if TYPE_CHECKING:
    from .client import ClientLike
    from .context import WorkflowContext

WorkflowFunction = Callable[..., Any]
Hook = Callable[..., Any]

_REGISTRY: dict[str, Workflow] = {}


def describe_validation_error(exc: pydantic.ValidationError) -> str:
    """One line per problem, naming the field: ``field 'email': value is not a valid email``."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(x) for x in error.get("loc", ())) or "(payload)"
        parts.append(f"field '{location}': {error.get('msg')}")
    return "; ".join(parts)


class Workflow:
    """A registered workflow.  Create one with :func:`workflow`."""

    workflow_type = "workflow"

    def __init__(
        self,
        func: WorkflowFunction,
        *,
        id: str | None = None,
        description: str | None = None,
        queue: str | Queue | dict[str, Any] | None = None,
        trigger_on_event: str | None = None,
        batch_size: int = 1,
        batch_timeout_seconds: float | None = None,
        schedule: bool | str | dict[str, Any] | None = None,
        on_start: Hook | list[Hook] | None = None,
        on_end: Hook | list[Hook] | None = None,
        state_schema: type[WorkflowState] | None = None,
    ) -> None:
        if not callable(func):
            raise WorkflowDefinitionError(f"@workflow decorates a function, got {type(func).__name__}")
        self.func = func
        self.id = id or func.__name__
        _check_id(self.id)
        self.description = description if description is not None else inspect.getdoc(func)
        self.queue = as_queue(queue, f"workflow {self.id!r}")
        self.trigger_on_event = trigger_on_event
        self.batch_size = batch_size
        self.batch_timeout_seconds = batch_timeout_seconds
        self.schedule = _normalize_schedule(schedule, self.id)
        self.on_start = _hook_list(on_start, "on_start", self.id)
        self.on_end = _hook_list(on_end, "on_end", self.id)
        self.state_schema = state_schema
        self._check_triggers()
        if state_schema is not None and not (isinstance(state_schema, type) and issubclass(state_schema, BaseModel)):
            raise WorkflowDefinitionError(
                f"workflow {self.id!r}: state_schema must be a WorkflowState subclass, got {state_schema!r}"
            )
        self.takes_payload, self.payload_model = _inspect_signature(func, self.id)

    # --- definition checks -------------------------------------------------------------------

    def _check_triggers(self) -> None:
        where = f"workflow {self.id!r}"
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise WorkflowDefinitionError(f"{where}: batch_size must be a whole number >= 1, got {self.batch_size!r}")
        if self.batch_timeout_seconds is not None and (
            not isinstance(self.batch_timeout_seconds, int | float) or self.batch_timeout_seconds <= 0
        ):
            raise WorkflowDefinitionError(
                f"{where}: batch_timeout_seconds must be a positive number, got {self.batch_timeout_seconds!r}"
            )
        if self.trigger_on_event is None:
            if self.batch_size != 1 or self.batch_timeout_seconds is not None:
                raise WorkflowDefinitionError(
                    f"{where}: batch_size and batch_timeout_seconds only apply with trigger_on_event='<topic>'"
                )
        else:
            if not isinstance(self.trigger_on_event, str) or not self.trigger_on_event.strip():
                raise WorkflowDefinitionError(f"{where}: trigger_on_event must be a topic name")
            if self.trigger_on_event.startswith("workflow/") or len(self.trigger_on_event) > 512:
                raise WorkflowDefinitionError(
                    f"{where}: trigger_on_event {self.trigger_on_event[:60]!r} is not a user topic "
                    "(topics under 'workflow/' carry traces and never trigger; at most 512 characters)"
                )
            if self.schedule is not None:
                raise WorkflowDefinitionError(
                    f"{where}: a workflow is either event-triggered or scheduled, not both; "
                    "split it into two workflows that call a shared child workflow"
                )

    # --- invoking ------------------------------------------------------------------------------

    def prepare_payload(self, payload: Any) -> Any:
        """Validate ``payload`` against the workflow's payload model (raises PayloadValidationError)."""
        if not self.takes_payload:
            if payload not in (None, {}):
                raise PayloadValidationError(
                    f"workflow {self.id!r} takes no payload (its function has only a ctx parameter)",
                    workflow_id=self.id,
                )
            return None
        if self.payload_model is not None and not isinstance(payload, self.payload_model):
            if isinstance(payload, BaseModel):
                payload = payload.model_dump()
            try:
                return self.payload_model.model_validate(payload)
            except pydantic.ValidationError as exc:
                raise PayloadValidationError(
                    f"payload for workflow {self.id!r} is invalid: {describe_validation_error(exc)}",
                    workflow_id=self.id,
                ) from None
        serialization.dumps(payload)  # fail now, not in the worker, when it is not JSON
        return payload

    def prepare_initial_state(self, initial_state: Any) -> str | None:
        """Validate ``initial_state`` against ``state_schema`` and encode it (raises PayloadValidationError)."""
        if initial_state is None:
            return None
        schema = self.state_schema
        if schema is not None and not isinstance(initial_state, schema):
            try:
                initial_state = schema.model_validate(
                    initial_state.model_dump() if isinstance(initial_state, BaseModel) else initial_state
                )
            except pydantic.ValidationError as exc:
                raise PayloadValidationError(
                    f"initial_state for workflow {self.id!r} is invalid: {describe_validation_error(exc)}",
                    workflow_id=self.id,
                ) from None
        return serialization.dumps(initial_state)

    async def invoke(
        self,
        client: ClientLike,
        payload: Any = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        initial_state: BaseModel | dict[str, Any] | None = None,
        run_timeout_seconds: int | None = None,
        priority: int = 0,
    ) -> ExecutionHandle:
        """Start an execution and return its handle at once.

        Inside a running workflow use ``ctx.step.invoke`` instead, so the child is started once.
        ``priority`` orders executions within their (queue, concurrency key) lane: higher first.
        """
        return await client.invoke(
            **self._invoke_arguments(
                payload, queue, concurrency_key, session_id, user_id, initial_state, run_timeout_seconds, priority
            )
        )

    def _invoke_arguments(
        self,
        payload: Any,
        queue: str | None,
        concurrency_key: str | None,
        session_id: str | None,
        user_id: str | None,
        initial_state: BaseModel | dict[str, Any] | None,
        run_timeout_seconds: int | None,
        priority: int,
    ) -> dict[str, Any]:
        """The client's ``invoke`` arguments, after the checks every invoke makes."""
        from .context import current_context

        if current_context() is not None:
            raise ConfigurationError(
                f"workflow {self.id!r} was invoked with .invoke()/.run() inside a running workflow; "
                "use ctx.step.invoke(key, ...) or ctx.step.invoke_and_wait(key, ...) so the call is durable"
            )
        queue_spec = as_queue(queue, f"workflow {self.id!r}") if queue is not None else self.queue
        # Passed only when set: clients written for the Polos SDK do not take a priority.
        extra: dict[str, Any] = {"priority": check_priority(priority)} if priority else {}
        return {
            "workflow_id": self.id,
            "payload": self.prepare_payload(payload),
            "queue_name": queue_spec.name if queue_spec else None,
            "queue_concurrency_limit": queue_spec.concurrency_limit if queue_spec else None,
            "concurrency_key": concurrency_key,
            "session_id": session_id,
            "user_id": user_id,
            "initial_state": initial_state,
            "run_timeout_seconds": run_timeout_seconds,
            **extra,
        }

    async def run(
        self,
        client: ClientLike,
        payload: Any = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        initial_state: BaseModel | dict[str, Any] | None = None,
        run_timeout_seconds: int | None = None,
        timeout: float | None = 600.0,
        priority: int = 0,
    ) -> Any:
        """Invoke and wait for the result.

        ``timeout`` bounds the caller's wait only: when it passes, ``WorkflowTimeoutError`` is raised
        and the execution goes on.  A failed execution raises ``ExecutionFailedError``.
        """
        arguments = self._invoke_arguments(
            payload, queue, concurrency_key, session_id, user_id, initial_state, run_timeout_seconds, priority
        )
        # Over HTTP, start and wait in one request (PolosClient.invoke_and_wait); other clients may not have it.
        invoke_and_wait = getattr(client, "invoke_and_wait", None)
        if invoke_and_wait is not None:
            return await invoke_and_wait(timeout=timeout, **arguments)
        handle = await client.invoke(**arguments)
        return await client.wait_for_result(handle.id, timeout=timeout)

    # --- running (called by the runtime) -------------------------------------------------------

    def call(self, ctx: WorkflowContext, payload: Any) -> Awaitable[Any] | Any:
        if self.takes_payload:
            return self.func(ctx, serialization.coerce(payload, self.payload_model))
        return self.func(ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"


def _check_id(workflow_id: str) -> None:
    if not isinstance(workflow_id, str) or not workflow_id or len(workflow_id) > 200:
        raise WorkflowDefinitionError(
            f"a workflow id must be a non-empty string of at most 200 characters, got {workflow_id!r}"
        )
    if any(c.isspace() or c == "/" for c in workflow_id):
        raise WorkflowDefinitionError(f"workflow id {workflow_id!r} must not contain spaces or '/'")


def _hook_list(value: Hook | list[Hook] | None, name: str, workflow_id: str) -> list[Hook]:
    hooks = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    for hook in hooks:
        if not callable(hook):
            raise WorkflowDefinitionError(f"workflow {workflow_id!r}: {name} must be callable, got {hook!r}")
    return hooks


def _normalize_schedule(schedule: bool | str | dict[str, Any] | None, workflow_id: str) -> dict[str, Any] | None:
    if schedule is None or schedule is False:
        return None
    if schedule is True:
        return {"cron": None, "timezone": "UTC", "key": "global"}
    if isinstance(schedule, str):
        return {"cron": validate_cron(schedule), "timezone": "UTC", "key": "global"}
    if isinstance(schedule, dict):
        unknown = set(schedule) - {"cron", "timezone", "key"}
        if unknown or "cron" not in schedule:
            raise WorkflowDefinitionError(
                f"workflow {workflow_id!r}: schedule dict takes 'cron' and optionally 'timezone', 'key'; "
                f"got {sorted(schedule)}"
            )
        return {
            "cron": validate_cron(schedule["cron"]),
            "timezone": validate_timezone(schedule.get("timezone", "UTC")),
            "key": str(schedule.get("key", "global")),
        }
    raise WorkflowDefinitionError(
        f"workflow {workflow_id!r}: schedule must be True, a cron string or a dict with 'cron', got {schedule!r}"
    )


def _inspect_signature(func: WorkflowFunction, workflow_id: str) -> tuple[bool, type[BaseModel] | None]:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) not in (1, 2):
        raise WorkflowDefinitionError(
            f"workflow {workflow_id!r}: the function must take (ctx) or (ctx, payload), "
            f"it takes {len(params)} required positional parameters"
        )
    if len(params) == 1:
        return False, None
    try:
        hints = get_type_hints(func)
    except Exception:  # unresolvable forward references: treat the payload as untyped
        hints = {}
    annotation = hints.get(params[1].name)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True, annotation
    return True, None


def register(wf: Workflow) -> Workflow:
    """Add a workflow to the registry; a different function under a taken id is an error."""
    existing = _REGISTRY.get(wf.id)
    if existing is not None and existing is not wf and not _same_function(existing.func, wf.func):
        raise WorkflowDefinitionError(
            f"two different workflows use the id {wf.id!r} ({_where(existing.func)} and {_where(wf.func)}); "
            "give one of them another id with @workflow(id='...')"
        )
    _REGISTRY[wf.id] = wf
    return wf


def unregister(workflow_id: str) -> None:
    """Remove a workflow from the registry (tests)."""
    _REGISTRY.pop(workflow_id, None)


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # A module imported twice (as __main__ and by name, or re-imported by autoreload) redefines
    # the same function; that is the same workflow.
    return getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None) and inspect.getsourcefile(
        a
    ) == inspect.getsourcefile(b)


def _where(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"


def workflow(
    func: WorkflowFunction | None = None,
    *,
    id: str | None = None,
    description: str | None = None,
    queue: str | Queue | dict[str, Any] | None = None,
    trigger_on_event: str | None = None,
    batch_size: int = 1,
    batch_timeout_seconds: float | None = None,
    schedule: bool | str | dict[str, Any] | None = None,
    on_start: Hook | list[Hook] | None = None,
    on_end: Hook | list[Hook] | None = None,
    state_schema: type[WorkflowState] | None = None,
) -> Any:
    """Declare a durable workflow: ``@workflow`` or ``@workflow(id="...", ...)``.

    The function is ``async def f(ctx)`` or ``async def f(ctx, payload)`` (sync functions work too).
    A payload annotated with a pydantic model is validated into it.
    """

    def decorate(f: WorkflowFunction) -> Workflow:
        return register(
            Workflow(
                f,
                id=id,
                description=description,
                queue=queue,
                trigger_on_event=trigger_on_event,
                batch_size=batch_size,
                batch_timeout_seconds=batch_timeout_seconds,
                schedule=schedule,
                on_start=on_start,
                on_end=on_end,
                state_schema=state_schema,
            )
        )

    if func is not None:
        return decorate(func)
    return decorate


def get_workflow(workflow_id: str) -> Workflow | None:
    """The registered workflow with this id, or ``None``."""
    return _REGISTRY.get(workflow_id)


def require_workflow(workflow_id: str) -> Workflow:
    """The registered workflow with this id; raises :class:`WorkflowNotFoundError` naming the known ids."""
    wf = _REGISTRY.get(workflow_id)
    if wf is None:
        known = ", ".join(sorted(_REGISTRY)[:20]) or "none"
        raise WorkflowNotFoundError(
            f"no workflow with id {workflow_id!r} is registered (known: {known}); "
            "import the module that defines it in this process",
            workflow_id=workflow_id,
        )
    return wf


def get_all_workflows() -> dict[str, Workflow]:
    """All registered workflows (and agents and tools), by id."""
    return dict(_REGISTRY)
