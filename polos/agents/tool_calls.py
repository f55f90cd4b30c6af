"""Running the tool calls of one agent step.

Calls the model made to unknown tools, or with input that fails validation, never run: the error
goes back to the model as an error result so it can correct itself.  The valid calls of one reply
run in parallel as child executions of one durable step (``tools_{n}``); the ``tool_start`` events
are written with that step, ``tool_finish`` when the results arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import PayloadValidationError
from ..llm.types import ToolResultPart, ToolUsePart
from ..steps import BATCH_WAIT
from ..store import WAIT_BATCH, NewEvent, WaitSpec
from ..tools.tool import ERROR_RESULT_KEY, Tool, is_tool_error_result
from ..types import BatchStepResult, BatchWorkflowInput, ToolResult
from .conversation import tool_result_content

if TYPE_CHECKING:
    from .loop import AgentRun


@dataclass
class _Call:
    index: int
    part: ToolUsePart
    tool: Tool | None = None
    payload: Any = None
    error: str | None = None
    outcome: BatchStepResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ToolRunner:
    """Runs the tool calls of one agent run."""

    def __init__(self, run: AgentRun) -> None:
        self.owner = run

    async def run(self, number: int, calls: list[ToolUsePart]) -> tuple[list[ToolResultPart], list[ToolResult]]:
        agent = self.owner.agent
        pending = [_Call(i, part) for i, part in enumerate(calls)]
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
        runnable = [c for c in pending if c.error is None]
        if runnable:
            outcomes = await self._batch(number, runnable)
            for call, outcome in zip(runnable, outcomes, strict=True):
                call.outcome = outcome
        return await self._results(number, pending)

    async def _batch(self, number: int, calls: list[_Call]) -> list[BatchStepResult]:
        run = self.owner
        step = run.ctx.step
        key = f"tools_{number}"
        record = step._lookup(key, BATCH_WAIT)
        if record is not None:
            return [BatchStepResult.model_validate(r) for r in step._value(record)]
        items = [BatchWorkflowInput(id=c.tool.id, payload=c.payload) for c in calls if c.tool is not None]
        children = step._batch_children(key, items)
        events = [
            NewEvent(
                "tool_start",
                {
                    "step": number,
                    "tool_name": call.part.name,
                    "tool_call_id": call.part.id,
                    "tool_execution_id": child.id,
                    "input": call.payload,
                    "_metadata": run.metadata,
                },
            )
            for call, child in zip(calls, children, strict=True)
        ]
        step._wait(WaitSpec(WAIT_BATCH, key, children=children, events=events))
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
            finished.append(
                NewEvent(
                    "tool_finish",
                    {
                        "step": number,
                        "tool_name": call.part.name,
                        "tool_call_id": call.part.id,
                        "status": "failed" if error is not None else "completed",
                        "error": error,
                        "_metadata": run.metadata,
                    },
                )
            )
        if not run.recorded(f"llm_{number + 1}") and not run.recorded("agent_finish"):
            run.publish(finished)  # a replay past this point does not publish them again
        return parts, results
