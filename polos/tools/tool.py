"""Tools: workflows an agent's model can call.

A :class:`Tool` is a workflow with ``workflow_type="tool"``.  The agent loop runs every tool call as a
durable child execution, so a tool call is made once even if the agent's worker crashes, and a tool
can also be invoked on its own like any workflow::

    class Weather(BaseModel):
        city: str

    @tool(description="Current weather of a city")
    async def get_weather(ctx: WorkflowContext, input: Weather) -> dict:
        return {"city": input.city, "temperature_c": 21}

A tool that must be approved by a human before it runs (``approval="always"``) suspends with a form
(see :func:`request_approval`); a rejection is returned to the model as an error result carrying the
reviewer's feedback, it does not fail the agent.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

import pydantic
from pydantic import BaseModel

from ..exceptions import PayloadValidationError, WorkflowDefinitionError
from ..queues import Queue
from ..workflow import Hook, Workflow, describe_validation_error

if TYPE_CHECKING:
    from ..client import ClientLike
    from ..context import WorkflowContext

ToolApproval = Literal["always", "none"]
"""When a tool asks a human before it runs: ``"always"`` or ``"none"`` (the default)."""

ERROR_RESULT_KEY = "_polos_tool_error"
"""Key of the dict a tool returns to hand the model an error result instead of a value."""

EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def tool_error_result(message: str, **details: Any) -> dict[str, Any]:
    """A tool result that the agent reports to the model as an error (``is_error``) with ``message``.

    Use it for expected failures the model should react to (a rejected approval, a missing file)
    instead of raising, which fails the tool's execution.
    """
    return {ERROR_RESULT_KEY: str(message), **details}


def is_tool_error_result(value: Any) -> bool:
    """Whether a tool result was made by :func:`tool_error_result`."""
    return isinstance(value, dict) and isinstance(value.get(ERROR_RESULT_KEY), str)


class Tool(Workflow):
    """A workflow an agent's model can call (``workflow_type="tool"``).

    Either pass ``func`` (``(ctx)`` or ``(ctx, input)``, sync or async) or subclass and override
    :meth:`execute`.  The model sees ``id``, ``description`` and the JSON schema of its input
    (``parameters``, or derived from ``input_model``).

    Args:
        id: the tool's name as the model sees it (letters, digits, ``_`` and ``-``).
        description: what the tool does, for the model.
        parameters: the JSON schema of the input; derived from ``input_model`` when omitted.
        func: the function to run (omit when subclassing).
        queue: the queue its executions run on (name, :class:`Queue` or dict).
        approval: ``"always"`` to ask a human before every call (``allow_always`` in the answer
            skips further questions for the rest of the agent run), ``"none"``/``None`` never.
        input_model: a pydantic model the input is validated into before the tool runs.
        on_start / on_end: workflow hooks.
        inline: how an agent runs a call: ``True`` as a durable step of the agent's own execution
            (fast: no child execution, no queue hop), ``False`` as a child execution.  ``None``
            (default): inline for plain function tools without approval or queue, a child
            execution otherwise (tools that suspend, subclasses such as sandbox tools).
    """

    workflow_type = "tool"

    def __init__(
        self,
        id: str,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        func: Callable[..., Any] | None = None,
        queue: str | Queue | dict[str, Any] | None = None,
        approval: ToolApproval | None = None,
        input_model: type[BaseModel] | None = None,
        on_start: Hook | list[Hook] | None = None,
        on_end: Hook | list[Hook] | None = None,
        inline: bool | None = None,
    ) -> None:
        if not isinstance(id, str) or not id or not all(c.isalnum() or c in "_-" for c in id) or len(id) > 64:
            raise WorkflowDefinitionError(
                f"a tool id must be 1-64 letters, digits, '_' or '-' (models reject other names), got {id!r}"
            )
        if approval not in (None, "always", "none"):
            raise WorkflowDefinitionError(f"tool {id!r}: approval must be 'always', 'none' or None, got {approval!r}")
        if input_model is not None and not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
            raise WorkflowDefinitionError(f"tool {id!r}: input_model must be a pydantic model class")
        if func is not None and not callable(func):
            raise WorkflowDefinitionError(f"tool {id!r}: func must be callable, got {type(func).__name__}")
        self.tool_func = func
        self.inline = inline
        self.input_model = input_model
        self.approval: ToolApproval | None = approval
        self._func_takes_input = _takes_input(func, id) if func is not None else True
        if parameters is not None and not isinstance(parameters, dict):
            raise WorkflowDefinitionError(f"tool {id!r}: parameters must be a JSON schema dict")
        self._parameters = parameters
        self._schema: dict[str, Any] | None = None
        doc = description
        if doc is None:
            doc = inspect.getdoc(func) if func is not None else inspect.getdoc(type(self))
            if type(self) is Tool and func is None:
                doc = None
        super().__init__(self._entry, id=id, description=doc or "", queue=queue, on_start=on_start, on_end=on_end)
        if func is None and type(self).execute is Tool.execute:
            raise WorkflowDefinitionError(f"tool {id!r}: pass func=... or subclass Tool and override execute()")
        register_tool(self)

    @property
    def runs_inline(self) -> bool:
        """Whether an agent runs calls of this tool as steps of its own execution (see ``inline``)."""
        if self.inline is not None:
            return self.inline
        return (
            type(self) is Tool
            and self.approval != "always"
            and self.queue is None
            and not self.on_start
            and not self.on_end
        )

    # --- what the model sees -------------------------------------------------------------------

    @property
    def input_schema(self) -> dict[str, Any]:
        """The JSON schema of the tool's input."""
        if self._parameters is not None:
            return self._parameters
        if self.input_model is not None:
            if self._schema is None:  # computed once: it is sent with every LLM call
                self._schema = self.input_model.model_json_schema()
            return self._schema
        return dict(EMPTY_SCHEMA)

    @property
    def parameters(self) -> dict[str, Any]:
        """Alias of :attr:`input_schema` (Polos' name)."""
        return self.input_schema

    def to_llm_tool_definition(self) -> dict[str, Any]:
        """The tool in function-calling shape: ``{"type": "function", "function": {name, description, parameters}}``."""
        return {
            "type": "function",
            "function": {"name": self.id, "description": self.description or "", "parameters": self.input_schema},
        }

    # --- input ---------------------------------------------------------------------------------

    def validate_input(self, data: Any) -> Any:
        """Validate a call's input (a dict from the model, or a model instance).

        Returns the ``input_model`` instance (or the dict when the tool has no model).

        Raises:
            PayloadValidationError: the input does not match, with one line per problem.
        """
        if isinstance(data, BaseModel) and self.input_model is not None and isinstance(data, self.input_model):
            return data
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        if data is None:
            data = {}
        if self.input_model is None:
            if not isinstance(data, dict):
                raise PayloadValidationError(
                    f"tool {self.id!r} takes a JSON object as input, got {type(data).__name__}", workflow_id=self.id
                )
            return data
        try:
            return self.input_model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise PayloadValidationError(
                f"invalid input for tool {self.id!r}: {describe_validation_error(exc)}", workflow_id=self.id
            ) from None

    def prepare_payload(self, payload: Any) -> Any:
        validated = self.validate_input(payload)
        return validated.model_dump(mode="json") if isinstance(validated, BaseModel) else validated

    # --- running -------------------------------------------------------------------------------

    async def _entry(self, ctx: WorkflowContext, payload: Any) -> Any:
        input_value = self.validate_input(payload)
        if self.approval == "always":
            decision = await request_approval(
                ctx,
                tool_id=self.id,
                title=f"Run tool '{self.id}'?",
                description=self.description or None,
                context={"tool": self.id, "input": _jsonable_input(input_value)},
            )
            if not decision.approved:
                return tool_error_result(decision.rejection_message(self.id), rejected=True)
        return await self.execute(ctx, input_value)

    async def execute(self, ctx: WorkflowContext, input: BaseModel | dict[str, Any] | None) -> Any:
        """Run the tool; override in subclasses that do not pass ``func``.

        Sync functions run in a worker thread so they do not block the event loop.
        """
        func = self.tool_func
        if func is None:  # pragma: no cover - guarded in __init__
            raise NotImplementedError(f"tool {self.id!r} has no function")
        args: tuple[Any, ...] = (ctx, input) if self._func_takes_input else (ctx,)
        if inspect.iscoroutinefunction(func):
            return await func(*args)
        result = await asyncio.to_thread(func, *args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def run(  # type: ignore[override]
        self,
        client: ClientLike,
        payload: BaseModel | dict[str, Any] | None = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        timeout: float | None = 600.0,
    ) -> Any:
        """Invoke the tool on its own and wait for its result (outside a workflow)."""
        return await super().run(
            client,
            payload,
            queue=queue,
            concurrency_key=concurrency_key,
            session_id=session_id,
            user_id=user_id,
            timeout=timeout,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (handy in unit tests)."""
        if self.tool_func is None:
            raise TypeError(f"tool {self.id!r} has no function to call; use execute() or run()")
        return self.tool_func(*args, **kwargs)


class ApprovalDecision(BaseModel):
    """A reviewer's answer to an approval form."""

    approved: bool = False
    allow_always: bool = False
    feedback: str | None = None

    def rejection_message(self, tool_id: str) -> str:
        """What the model is told when the call was rejected."""
        message = f"The user rejected the call to tool '{tool_id}'."
        if self.feedback:
            message += f" Feedback: {self.feedback}"
        return message


APPROVAL_FIELDS: list[dict[str, Any]] = [
    {"key": "approved", "type": "boolean", "label": "Approve", "required": True, "default": False},
    {
        "key": "allow_always",
        "type": "boolean",
        "label": "Always allow this tool for the rest of this run",
        "required": False,
        "default": False,
    },
    {"key": "feedback", "type": "textarea", "label": "Feedback for the agent", "required": False},
]


def _allow_always_key(ctx: WorkflowContext, tool_id: str) -> str:
    return f"tool_allow_always:{ctx.root_execution_id}:{tool_id}"


async def request_approval(
    ctx: WorkflowContext,
    *,
    tool_id: str,
    title: str,
    description: str | None = None,
    context: dict[str, Any] | None = None,
    source: str = "tool_approval",
    key: str | None = None,
    allow_always_scope: str | None = None,
    timeout: float | None = None,
) -> ApprovalDecision:
    """Suspend for a human decision about a tool call and return it.

    Publishes ``suspend_{key}`` with ``{"_form": {title, description, fields, context}, "_source",
    "_tool"}``; the resume data is ``{"approved": bool, "allow_always": bool, "feedback": str}``.
    An earlier ``allow_always`` answer for the same ``allow_always_scope`` (default: the tool) in the
    same root execution approves at once without asking.

    Args:
        ctx: the tool's workflow context.
        tool_id: the tool asking.
        title / description: shown on the approval form.
        context: what is to be approved (e.g. ``{"command": ...}``), shown on the form.
        source: ``_source`` of the suspend (``tool_approval``, ``exec_security``, ``path_approval``).
        key: the suspend step key (default ``approve_{tool_id}_{execution_id}``, unique in the tree).
        allow_always_scope: what an ``allow_always`` answer covers (default: ``tool_id``).
        timeout: seconds before the suspend fails with ``StepTimeoutError``.
    """
    from ..memory.store import conversation_store

    memory = conversation_store(ctx)
    scope = allow_always_scope or tool_id
    step_key = key or f"approve_{tool_id}_{ctx.execution_id}"
    memory_key = _allow_always_key(ctx, scope)
    allowed = await ctx.step.run(f"{step_key}_allowed", memory.get_value, memory_key, max_retries=0)
    if allowed:
        return ApprovalDecision(approved=True, allow_always=True)
    form: dict[str, Any] = {"title": title, "fields": APPROVAL_FIELDS, "context": context or {}}
    if description:
        form["description"] = description
    answer = await ctx.step.suspend(step_key, {"_form": form, "_source": source, "_tool": tool_id}, timeout=timeout)
    data = answer.get("data") if isinstance(answer, dict) else None
    decision = _decision(data)
    if decision.approved and decision.allow_always:
        await ctx.step.run(f"{step_key}_remember", memory.set_value, memory_key, True, max_retries=0)
    return decision


def _decision(data: Any) -> ApprovalDecision:
    if isinstance(data, bool):
        return ApprovalDecision(approved=data)
    if not isinstance(data, dict):
        return ApprovalDecision()
    feedback = data.get("feedback")
    return ApprovalDecision(
        approved=_truthy(data.get("approved")),
        allow_always=_truthy(data.get("allow_always")),
        feedback=str(feedback) if feedback not in (None, "") else None,
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _jsonable_input(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _takes_input(func: Callable[..., Any], tool_id: str) -> bool:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) not in (1, 2):
        raise WorkflowDefinitionError(
            f"tool {tool_id!r}: the function must take (ctx) or (ctx, input: SomeModel), "
            f"it takes {len(params)} required positional parameters"
        )
    return len(params) == 2


def _input_model_of(func: Callable[..., Any]) -> type[BaseModel] | None:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) != 2:
        return None
    try:
        hints = get_type_hints(func)
    except Exception:  # unresolvable forward references: an untyped input
        return None
    annotation = hints.get(params[1].name)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def tool(
    func: Callable[..., Any] | None = None,
    *,
    id: str | None = None,
    description: str | None = None,
    parameters: dict[str, Any] | None = None,
    approval: ToolApproval | None = None,
    queue: str | Queue | dict[str, Any] | None = None,
    on_start: Hook | list[Hook] | None = None,
    on_end: Hook | list[Hook] | None = None,
    inline: bool | None = None,
) -> Any:
    """Make a function a tool: ``@tool`` or ``@tool(id=..., description=..., approval="always")``.

    The function takes ``(ctx)`` or ``(ctx, input: SomeModel)`` and may be sync or async; the input
    schema the model sees is the model's JSON schema.  The description defaults to the docstring.
    """

    def decorate(f: Callable[..., Any]) -> Tool:
        if not callable(f):
            raise WorkflowDefinitionError(f"@tool decorates a function, got {type(f).__name__}")
        return Tool(
            id=id or f.__name__,
            description=description,
            parameters=parameters,
            func=f,
            queue=queue,
            approval=approval,
            input_model=_input_model_of(f),
            on_start=on_start,
            on_end=on_end,
            inline=inline,
        )

    if func is not None:
        return decorate(func)
    return decorate


def register_tool(tool_obj: Tool) -> Tool:
    """Add a tool to the workflow registry (so workers can run it); a taken id is an error."""
    from ..workflow import _same_function, get_workflow

    existing = get_workflow(tool_obj.id)
    if (
        isinstance(existing, Tool)
        and existing is not tool_obj
        and existing.tool_func is not None
        and tool_obj.tool_func is not None
        and not _same_function(existing.tool_func, tool_obj.tool_func)
    ):
        raise WorkflowDefinitionError(
            f"two different tools use the id {tool_obj.id!r}; give one of them another id with @tool(id='...')"
        )
    if existing is not None and not isinstance(existing, Tool):
        raise WorkflowDefinitionError(
            f"tool id {tool_obj.id!r} is already used by {type(existing).__name__.lower()} {existing.id!r}"
        )
    _force_register(tool_obj)
    return tool_obj


def _force_register(tool_obj: Tool) -> None:
    from ..workflow import _REGISTRY

    _REGISTRY[tool_obj.id] = tool_obj


__all__ = [
    "ERROR_RESULT_KEY",
    "ApprovalDecision",
    "Tool",
    "ToolApproval",
    "is_tool_error_result",
    "register_tool",
    "request_approval",
    "tool",
    "tool_error_result",
]
