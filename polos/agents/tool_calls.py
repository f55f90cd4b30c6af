"""Running the tool calls of one agent step.

Calls the model made to unknown tools, or with input that fails validation, never run: the error
goes back to the model as an error result so it can correct itself.  The valid calls of one reply
run in parallel as child executions of one durable step (``tools_{n}``); the ``tool_start`` events
are written with that step, ``tool_finish`` when the results arrive.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import serialization
from ..exceptions import ExecutionSignal, PayloadValidationError, StepExecutionError
from ..llm.types import ToolResultPart, ToolUsePart
from ..steps import BATCH_WAIT, error_json
from ..store import STEP_FAILED, WAIT_BATCH, NewEvent, WaitSpec
from ..tools.tool import ERROR_RESULT_KEY, Tool, is_tool_error_result
from ..tracing import span
from ..types import BatchStepResult, BatchWorkflowInput, ToolResult
from .conversation import tool_result_content
from .llm_step import tool_events

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from .loop import AgentRun

TOOL = "tool"  # recorded step kind of a tool call run inline (a persisted name)

# ``ctx.step`` methods whose first argument is a step key (prefixed for tools run inline).
KEYED_STEPS = frozenset(
    {
        "run",
        "uuid",
        "random",
        "now",
        "wait_for",
        "wait_until",
        "wait_for_event",
        "publish_event",
        "publish_workflow_event",
        "suspend",
        "resume",
        "invoke",
        "invoke_and_wait",
        "batch_invoke",
        "batch_invoke_and_wait",
        "agent_invoke",
        "agent_invoke_and_wait",
        "batch_agent_invoke",
        "batch_agent_invoke_and_wait",
    }
)


class _ScopedStep:
    """``ctx.step`` of a tool run inline: its step keys are prefixed with the call's own key."""

    def __init__(self, step: Any, prefix: str) -> None:
        self._step = step
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._step, name)
        if name not in KEYED_STEPS:
            return attr
        prefix = self._prefix

        def keyed(key: str, *args: Any, **kwargs: Any) -> Any:
            return attr(f"{prefix}{key}", *args, **kwargs)

        return keyed


class ToolCallContext:
    """The context a tool run inline receives: the agent's context with the tool's identity.

    Its ``step`` prefixes every step key with the call's key, so a tool's own steps (an approval
    suspend, say) never collide with the agent's or another call's.
    """

    def __init__(self, ctx: WorkflowContext, tool: Tool, tool_call_id: str, prefix: str) -> None:
        self._ctx = ctx
        self.step = _ScopedStep(ctx.step, prefix)
        self.tool_id = tool.id
        self.tool_call_id = tool_call_id
        self.workflow_type = "tool"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def __repr__(self) -> str:
        return f"<ToolCallContext {self.tool_id} in {self._ctx.execution_id}>"


def _tool_error(exc: StepExecutionError) -> str:
    message = exc.message
    marker = " attempt(s): "
    return message.split(marker, 1)[1] if marker in message else message


@dataclass
class _Call:
    index: int
    part: ToolUsePart
    tool: Tool | None = None
    payload: Any = None
    error: str | None = None
    outcome: BatchStepResult | None = None
    finish_written: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ToolRunner:
    """Runs the tool calls of one agent run."""

    def __init__(self, run: AgentRun) -> None:
        self.owner = run

    async def run(self, number: int, calls: list[ToolUsePart]) -> tuple[list[ToolResultPart], list[ToolResult]]:
        agent = self.owner.agent
        pending = [_Call(i, part) for i, part in enumerate(calls)]
        if agent.guardrails and not self._started(number, len(calls)):
            # Guarded replies carry no tool events in their LLM step: the calls are final only now.
            self.owner.publish(tool_events(number, calls, self.owner.metadata))
        for call in pending:
            tool = agent.tool_named(call.part.name)
            if tool is None:
                names = ", ".join(t.id for t in agent.tools) or "none"
                call.error = f"Unknown tool '{call.part.name}'. Available tools: {names}."
                continue
            call.tool = tool
            payload: Any = call.part.input
            if agent.on_tool_start:
                hooked = await self.owner._run_hooks(
                    f"on_tool_start_{number}_{call.index}",
                    agent.on_tool_start,
                    current_tool=tool.id,
                    current_payload=dict(payload or {}),
                )
                if hooked.modified_payload is not None:
                    payload = {**(payload or {}), **hooked.modified_payload}
            try:
                call.payload = tool.prepare_payload(payload)
            except PayloadValidationError as exc:
                call.error = f"{exc.message}. Fix the input and call the tool again."
        inline = [c for c in pending if c.error is None and c.tool is not None and c.tool.runs_inline]
        children = [c for c in pending if c.error is None and c not in inline]
        if inline:
            await self._inline(number, inline)
        if children:
            outcomes = await self._batch(number, children)
            for call, outcome in zip(children, outcomes, strict=True):
                call.outcome = outcome
        return await self._results(number, pending)

    def _started(self, number: int, count: int) -> bool:
        run = self.owner
        return run.recorded(f"tools_{number}") or any(run.recorded(f"tool_{number}_{i}") for i in range(count))

    async def _inline(self, number: int, calls: list[_Call]) -> None:
        """Run calls as durable steps of the agent's own execution (``tool_{n}_{i}``), in parallel.

        Each call's record and its ``tool_finish`` event are one write.
        """
        keys = [f"tool_{number}_{call.index}" for call in calls]
        if len(calls) == 1:
            calls[0].outcome = await self._inline_one(number, calls[0], keys[0])
            return
        outcomes = await asyncio.gather(
            *(self._inline_one(number, c, k) for c, k in zip(calls, keys, strict=True)), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # a suspend, a cancel, a lost lease: every call has ended, the signal wins
        for call, outcome in zip(calls, outcomes, strict=True):
            call.outcome = outcome  # type: ignore[assignment]

    async def _inline_one(self, number: int, call: _Call, key: str) -> BatchStepResult:
        run = self.owner
        ctx = run.ctx
        step = ctx.step
        tool = call.tool
        assert tool is not None
        call.finish_written = True
        record = step._lookup(key, TOOL)
        if record is not None:
            if record.status == STEP_FAILED:
                info = serialization.loads_plain(record.error) or {}
                return BatchStepResult(workflow_id=tool.id, success=False, error=info.get("message"))
            return BatchStepResult(workflow_id=tool.id, success=True, result=step._value(record))
        scoped = ToolCallContext(ctx, tool, call.part.id, prefix=f"{key}.")
        started = time.monotonic()
        try:
            with span(f"tool.{tool.id}", {"tool.call_id": call.part.id, "step.key": key}):
                value = await tool._entry(scoped, call.payload)  # type: ignore[arg-type]
            output = serialization.dumps(value)
        except ExecutionSignal:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            event = self._finish_event(number, call, message)
            step._write(key, TOOL, error=error_json(message, type(exc).__name__), started=started, events=[event])
            return BatchStepResult(workflow_id=tool.id, success=False, error=message)
        failed = is_tool_error_result(value)
        event = self._finish_event(number, call, str(value[ERROR_RESULT_KEY]) if failed else None)
        step._write(key, TOOL, output=output, started=started, events=[event])
        return BatchStepResult(workflow_id=tool.id, success=True, result=value)

    def _finish_event(self, number: int, call: _Call, error: str | None) -> NewEvent:
        return NewEvent(
            "tool_finish",
            {
                "step": number,
                "tool_name": call.part.name,
                "tool_call_id": call.part.id,
                "status": "failed" if error is not None else "completed",
                "error": error,
                "_metadata": self.owner.metadata,
            },
        )

    async def _batch(self, number: int, calls: list[_Call]) -> list[BatchStepResult]:
        run = self.owner
        step = run.ctx.step
        key = f"tools_{number}"
        record = step._lookup(key, BATCH_WAIT)
        if record is not None:
            return [BatchStepResult.model_validate(r) for r in step._value(record)]
        items = [BatchWorkflowInput(id=c.tool.id, payload=c.payload) for c in calls if c.tool is not None]
        children = step._batch_children(key, items)
        step._wait(WaitSpec(WAIT_BATCH, key, children=children))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _results(self, number: int, calls: list[_Call]) -> tuple[list[ToolResultPart], list[ToolResult]]:
        run = self.owner
        agent = run.agent
        parts: list[ToolResultPart] = []
        results: list[ToolResult] = []
        finished: list[NewEvent] = []
        for call in calls:
            value: Any = None
            error = call.error
            outcome = call.outcome
            if outcome is not None:
                if outcome.success and is_tool_error_result(outcome.result):
                    error = str((outcome.result or {})[ERROR_RESULT_KEY])
                elif outcome.success:
                    value = outcome.result
                else:
                    error = f"Tool '{call.part.name}' failed: {outcome.error or 'unknown error'}"
            if agent.on_tool_end and call.tool is not None:
                hooked = await run._run_hooks(
                    f"on_tool_end_{number}_{call.index}",
                    agent.on_tool_end,
                    current_tool=call.tool.id,
                    current_payload=call.payload if isinstance(call.payload, dict) else None,
                    current_output=value if error is None else {"error": error},
                )
                if hooked.modified_output is not None:
                    value, error = hooked.modified_output, None
            content = error if error is not None else tool_result_content(value)
            parts.append(ToolResultPart(tool_use_id=call.part.id, content=content, is_error=error is not None))
            schema = type(value) if hasattr(value, "model_dump") else None
            results.append(
                ToolResult(
                    tool_name=call.part.name,
                    status="failed" if error is not None else "completed",
                    result=value,
                    result_schema=f"{schema.__module__}.{schema.__qualname__}" if schema is not None else None,
                    error=error,
                    tool_call_id=call.part.id,
                    tool_call_call_id=call.part.id,
                )
            )
            if not call.finish_written:
                finished.append(self._finish_event(number, call, error))
        if finished and not run.recorded(f"llm_{number + 1}") and not run.recorded("agent_finish"):
            run.publish(finished)  # a replay past this point does not publish them again
        return parts, results
