"""The agent loop: LLM call, guardrails, tools, stop conditions, until the model answers.

Durability (step keys are persisted names, do not change them):

- ``agent_setup``: which conversation the run appends to and where it starts in its log.
- ``llm_{n}`` (and ``llm_{n}_retry_{r}`` after a guardrail rejection, ``llm_{n}_fix`` after an
  answer that missed ``output_schema``): one LLM call each.  The reply is written once, to the
  conversation log; the step records only its position, usage and stop reason.
- ``tools_{n}``: the tool calls of step ``n``, run in parallel as child executions.
- ``guardrail_{n}_{r}_{g}``, ``{hook}_{n}_{...}``: guardrails and hooks, one step each.
- ``agent_finish``: the final event.

On replay the log is read once; every recorded step resolves its reply from it, so a run resumed
after a crash repeats no LLM call and no tool call that was recorded.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .. import serialization
from ..exceptions import PayloadValidationError, StepExecutionError
from ..llm.types import LLMResponse, LLMUsage, Message, TextPart, ToolResultPart, ToolUsePart
from ..memory.store import ConversationStore, conversation_store
from ..store import NewEvent
from ..types import AgentResult, Step, ToolCall, ToolCallFunction, ToolResult, Usage
from .conversation import dump_message, input_messages, load_message
from .errors import GuardrailError, HookFailedError, StructuredOutputError
from .hooks import GuardrailResult, HookAction, HookContext, HookResult, coerce_result
from .llm_step import LLMCaller
from .stop_conditions import StopConditionContext, is_builtin, max_steps_limit
from .tool_calls import ToolRunner

if TYPE_CHECKING:
    from ..context import AgentContext
    from .agent import Agent

DEFAULT_MAX_STEPS = 10
SETUP = "agent_setup"  # recorded step kind (a persisted name)
HIDDEN = "_hidden"


def default_max_steps() -> int:
    """Agent steps allowed without a ``max_steps`` stop condition (``POLOS_AGENT_MAX_STEPS``, default 10)."""
    try:
        return max(1, int(os.environ.get("POLOS_AGENT_MAX_STEPS", DEFAULT_MAX_STEPS)))
    except ValueError:
        return DEFAULT_MAX_STEPS


async def run_agent(agent: Agent, ctx: AgentContext, payload: Any) -> AgentResult:
    """Run one agent execution (the agent's workflow function)."""
    return await AgentRun(agent, ctx, payload).execute()


class AgentRun:
    """The state of one run of the loop (rebuilt on every replay from recorded steps)."""

    def __init__(self, agent: Agent, ctx: AgentContext, payload: Any) -> None:
        self.agent = agent
        self.ctx = ctx
        self.payload: dict[str, Any] = payload if isinstance(payload, dict) else {"input": payload}
        self.streaming = bool(self.payload.get("streaming")) or agent.stream_to_workflow
        self.session_id: str | None = self.payload.get("session_id") or ctx.session_id
        self.user_id: str | None = self.payload.get("user_id") or ctx.user_id
        self.log: ConversationStore = conversation_store(ctx)
        self.conversation_id = ""
        self.position = 0
        self.entries: list[dict[str, Any]] = []  # this run's log entries, from ``start``
        self.pending: list[tuple[int, dict[str, Any]]] = []  # deferred log writes
        self.start = 0
        self.messages: list[Message] = []
        self.system: str | None = agent.system_prompt
        self.steps: list[Step] = []
        self.tool_results: list[ToolResult] = []
        self.usage = LLMUsage()
        self.cost: float | None = 0.0
        self.llm = LLMCaller(self)
        self.tools = ToolRunner(self)

    # --- helpers used by the step modules ------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        return {"execution_id": self.ctx.execution_id, "workflow_id": self.ctx.workflow_id, "agent_id": self.agent.id}

    def recorded(self, key: str) -> bool:
        return key in self.ctx._run.steps

    def publish(self, events: list[NewEvent]) -> None:
        """Write trace events now (not a step: a replay that reaches here again writes them again)."""
        if events:
            self.ctx._run.store.publish_events(self.ctx.topic, events, self.ctx.project_id)

    def entry(self, position: int) -> dict[str, Any]:
        offset = position - self.start
        if 0 <= offset < len(self.entries):
            return self.entries[offset]
        found = self.log.load(self.conversation_id, position, position + 1)
        if not found:
            raise StepExecutionError(
                f"agent {self.agent.id!r}: message {position} of conversation {self.conversation_id!r} is missing "
                "from the conversation log (was the log deleted?)",
                step_key=f"log_{position}",
            )
        return found[0]

    def write(self, message: Message, *, hidden: bool = False, defer: bool = False) -> int:
        """Append ``message`` to the log at the next position (idempotent on replay); returns it.

        With ``defer`` the write waits for the next one (or :meth:`flush`), so that a tool-results
        message and the next reply cost one statement.
        """
        position = self.position
        self.position += 1
        data = dump_message(message)
        if hidden:
            data[HIDDEN] = True
        offset = position - self.start
        if offset < len(self.entries) and self.entries[offset] == data:
            return position  # already written by an earlier run of this execution
        if offset < len(self.entries):
            self.entries[offset] = data
        elif offset == len(self.entries):
            self.entries.append(data)
        self.pending.append((position, data))
        if not defer:
            self.flush()
        return position

    def flush(self) -> None:
        """Write the deferred log entries (contiguous runs, one statement each)."""
        pending, self.pending = self.pending, []
        while pending:
            first = pending[0][0]
            run = [pending[0][1]]
            index = 1
            while index < len(pending) and pending[index][0] == first + index:
                run.append(pending[index][1])
                index += 1
            self.log.append(self.conversation_id, first, run)
            pending = pending[index:]

    def hide(self, position: int) -> None:
        """Mark a written reply as not part of the conversation (a rejected attempt)."""
        data = dict(self.entry(position))
        if data.get(HIDDEN):
            return
        data[HIDDEN] = True
        self.log.append(self.conversation_id, position, [data])
        offset = position - self.start
        if 0 <= offset < len(self.entries):
            self.entries[offset] = data

    def replace(self, position: int, message: Message) -> None:
        """Overwrite a written reply (a guardrail modified it)."""
        data = dump_message(message)
        if self.entry(position) == data:
            return
        self.log.append(self.conversation_id, position, [data])
        offset = position - self.start
        if 0 <= offset < len(self.entries):
            self.entries[offset] = data

    # --- the run -------------------------------------------------------------------------------

    async def execute(self) -> AgentResult:
        try:
            await self._run_hooks("on_start", self.agent.agent_on_start, current_payload=self.payload)
            await self._setup()
            result = await self._loop()
            result = await self._finish(result)
        except Exception as exc:
            self._publish_failure(exc)
            raise
        return result

    async def _setup(self) -> None:
        ctx = self.ctx
        agent = self.agent
        new_messages = input_messages(self.payload.get("input"), agent.id)
        record = ctx.step._lookup("agent_setup", SETUP)
        fresh = record is None
        if record is not None:
            setup = ctx.step._value(record)
        else:
            setup = await self._locate()
            started = {"agent_id": agent.id, "conversation_id": setup["conversation_id"], "_metadata": self.metadata}
            ctx.step._write(
                "agent_setup", SETUP, output=serialization.dumps(setup), events=[NewEvent("agent_start", started)]
            )
        self.conversation_id = ctx.conversation_id = setup["conversation_id"]
        self.start = self.position = int(setup["start"])
        summary, upto = setup.get("summary"), int(setup.get("summary_upto") or 0)
        history: list[Message] = []
        positions: list[int] = []
        if self.start > upto:
            for offset, entry in enumerate(self.log.load(self.conversation_id, upto, self.start)):
                if not entry.get(HIDDEN):
                    history.append(load_message(entry))
                    positions.append(upto + offset)
        # A fresh run has written nothing yet; a replay reads back what earlier runs wrote.
        self.entries = [] if fresh else self.log.load(self.conversation_id, self.start)
        if agent.compaction is not None and agent.compaction.enabled and history:
            from .compaction import compact

            summary, history = await compact(self, summary, history, positions)
        history = _well_formed(history)
        if agent.max_history_messages is not None:
            history = _trim(history, agent.max_history_messages)
        if summary:
            self.system = (
                f"{agent.system_prompt or ''}\n\n<conversation_summary>\n{summary}\n</conversation_summary>".lstrip()
            )
        for message in new_messages:
            self.write(message, defer=True)  # written with the first reply
        self.messages = [*history, *new_messages]

    async def _locate(self) -> dict[str, Any]:
        """Pick the conversation (explicit, per agent and session, or this run's own) and its end."""
        ctx = self.ctx
        conversation_id = self.payload.get("conversation_id")
        if not conversation_id and self.session_id:
            conversation_id = f"session:{ctx.project_id}:{self.session_id}:{self.agent.id}"
        if not conversation_id:
            return {"conversation_id": f"run:{ctx.execution_id}", "start": 0}
        summary = self.log.get_value(f"summary:{conversation_id}") or {}
        return {
            "conversation_id": conversation_id,
            "start": self.log.length(conversation_id),
            "summary": summary.get("summary"),
            "summary_upto": summary.get("upto", 0),
        }

    async def _loop(self) -> AgentResult:
        agent = self.agent
        conditions = agent.stop_conditions
        limit = max_steps_limit(conditions) or default_max_steps()
        final: LLMResponse | None = None
        parsed: Any = None
        number = 0
        while number < limit:
            number += 1
            if agent.on_agent_step_start:
                await self._run_hooks(
                    f"on_agent_step_start_{number}",
                    agent.on_agent_step_start,
                    current_payload={"step": number, "messages": [m.model_dump(mode="json") for m in self.messages]},
                )
            response, parsed = await self._respond(number)
            final = response
            self.messages.append(response.to_message())
            step = Step(
                step=number,
                content=response.text or None,
                tool_calls=[_tool_call(c) for c in response.tool_calls],
                usage=_usage(response.usage),
            )
            handoff = next((c for c in response.tool_calls if agent.handoff_named(c.name) is not None), None)
            if handoff is not None:
                handed = await self._handoff(number, handoff, step)
                self.steps.append(step)
                await self._run_hooks(f"on_agent_step_end_{number}", agent.on_agent_step_end, current_output=step)
                parsed = handed.result
                break
            if response.tool_calls:
                parts, results = await self.tools.run(number, response.tool_calls)
                step.tool_results = results
                self.tool_results.extend(results)
                message = Message(role="user", content=list(parts))
                self.write(message, defer=True)
                self.messages.append(message)
            self.steps.append(step)
            await self._run_hooks(f"on_agent_step_end_{number}", agent.on_agent_step_end, current_output=step)
            if not response.tool_calls:
                break
            if await self._should_stop(number, conditions):
                break
        assert final is not None
        result: Any = parsed if parsed is not None else final.text
        schema = agent.output_schema if isinstance(parsed, BaseModel) else None
        return AgentResult(
            agent_run_id=self.ctx.execution_id,
            conversation_id=self.conversation_id,
            result=result,
            result_schema=f"{schema.__module__}.{schema.__qualname__}"
            if schema is not None and parsed is not None
            else None,
            tool_results=self.tool_results,
            total_steps=len(self.steps),
            usage=_usage(self.usage),
            cost_usd=round(self.cost, 8) if self.cost is not None else None,
        )

    async def _handoff(self, number: int, call: ToolUsePart, step: Step) -> AgentResult:
        """Hand the conversation to another agent; its answer becomes this run's answer."""
        target = self.agent.handoff_named(call.name)
        assert target is not None
        conversation = [m.model_dump(mode="json") for m in _flatten(self.messages[:-1])]  # without the transfer
        run = target.with_input(conversation, conversation_id=f"handoff:{self.ctx.execution_id}:{number}")
        handed: AgentResult = await self.ctx.step.agent_invoke_and_wait(f"handoff_{number}", run)
        self.usage = self.usage + LLMUsage(
            input_tokens=handed.usage.input_tokens,
            output_tokens=handed.usage.output_tokens,
            cache_read_tokens=handed.usage.cache_read_input_tokens,
            cache_creation_tokens=handed.usage.cache_creation_input_tokens,
        )
        if self.cost is not None:
            self.cost = None if handed.cost_usd is None else self.cost + handed.cost_usd
        note = f"The conversation was handed over to agent '{target.id}'."
        step.tool_results = [
            ToolResult(
                tool_name=call.name,
                status="completed",
                result={"agent_id": target.id, "agent_run_id": handed.agent_run_id},
                tool_call_id=call.id,
                tool_call_call_id=call.id,
            )
        ]
        self.tool_results.extend(step.tool_results)
        self.tool_results.extend(handed.tool_results)
        answer = handed.result if isinstance(handed.result, str) else serialization.dumps(handed.result)
        for message in (
            Message(role="user", content=[ToolResultPart(tool_use_id=call.id, content=note)]),
            Message.assistant(answer),
        ):
            self.write(message)
            self.messages.append(message)
        return handed

    async def _respond(self, number: int) -> tuple[LLMResponse, Any]:
        """One agent step's reply: guardrail retries, then structured output (one corrective retry)."""
        agent = self.agent
        request_messages = list(self.messages)
        response: LLMResponse | None = None
        attempts = agent.guardrail_max_retries + 1 if agent.guardrails else 1
        reasons: list[str] = []
        position = -1
        for attempt in range(attempts):
            key = f"llm_{number}" if attempt == 0 else f"llm_{number}_retry_{attempt}"
            response, position = await self.llm.call(
                key, number, request_messages, stream=not agent.guardrails, with_tool_events=not agent.guardrails
            )
            self._count(response)
            if not agent.guardrails:
                break
            verdict = await self._guardrails(number, attempt, response)
            if verdict.action == HookAction.CONTINUE:
                modified = _apply_guardrail(response, verdict)
                if modified is not response:
                    response = modified
                    self.replace(position, response.to_message())
                if self.streaming and response.text:
                    self.llm.publish_text(key, number, response.text)
                break
            reason = verdict.error_message or "the reply was rejected by a guardrail"
            reasons.append(reason)
            self.hide(position)
            request_messages = [
                *request_messages,
                response.to_message(),
                Message.user(f"Your previous reply was rejected: {reason}. Write a new reply that satisfies this."),
            ]
            response = None
        if response is None:
            raise GuardrailError(
                f"agent {agent.id!r}: every reply was rejected by its guardrails "
                f"({attempts} attempt(s)); last reason: {reasons[-1] if reasons else 'unknown'}"
            )
        parsed = None
        if agent.output_schema is not None and not response.tool_calls:
            response, parsed = await self._structured(number, response, request_messages, position)
        return response, parsed

    async def _structured(
        self, number: int, response: LLMResponse, request_messages: list[Message], position: int
    ) -> tuple[LLMResponse, Any]:
        schema = self.agent.output_schema
        assert schema is not None
        error = _parse_error(schema, response.text)
        if error is None:
            return response, schema.model_validate_json(_json_text(response.text))
        self.hide(position)
        retry_messages = [
            *request_messages,
            response.to_message(),
            Message.user(
                f"Your reply does not match the required JSON schema ({error}). Reply again with only a JSON "
                "object that matches the schema, nothing else."
            ),
        ]
        fixed, _ = await self.llm.call(f"llm_{number}_fix", number, retry_messages, stream=False)
        self._count(fixed)
        second = _parse_error(schema, fixed.text)
        if second is not None:
            raise StructuredOutputError(
                f"agent {self.agent.id!r}: the model's answer does not match output_schema {schema.__name__} "
                f"after one corrective retry: {second}. Simplify the schema or make the system prompt ask for it."
            )
        return fixed, schema.model_validate_json(_json_text(fixed.text))

    def _count(self, response: LLMResponse) -> None:
        self.usage = self.usage + response.usage
        if self.cost is not None:
            self.cost = None if response.cost_usd is None else self.cost + response.cost_usd

    async def _guardrails(self, number: int, attempt: int, response: LLMResponse) -> GuardrailResult:
        from .guardrails import run_guardrails

        return await run_guardrails(self, number, attempt, response)

    async def _should_stop(self, number: int, conditions: list[Any]) -> bool:
        if not conditions:
            return False
        context = StopConditionContext(steps=self.steps, agent_id=self.agent.id, agent_run_id=self.ctx.execution_id)
        for index, condition in enumerate(conditions):
            if is_builtin(condition):
                if condition(context):
                    return True
                continue
            if await self.ctx.step.run(f"stop_{number}_{index}", condition, context, max_retries=0):
                return True
        return False

    async def _run_hooks(
        self,
        name: str,
        hooks: list[Any],
        *,
        current_tool: str | None = None,
        current_payload: Any = None,
        current_output: Any = None,
    ) -> HookResult:
        """Run hooks in order as steps; the first FAIL stops the agent.  Returns the merged result."""
        merged = HookResult()
        for index, hook_fn in enumerate(hooks):
            context = HookContext(
                workflow_id=self.agent.id,
                session_id=self.session_id,
                user_id=self.user_id,
                agent_config=None if name in ("on_start", "on_end") else self.agent.agent_config(),
                steps=list(self.steps),
                current_tool=current_tool,
                current_payload=current_payload,
                current_output=current_output,
            )
            value = await self.ctx.step.run(f"{name}_{index}", hook_fn, self.ctx, context, max_retries=0)
            result = coerce_result(value, HookResult, f"hook {getattr(hook_fn, '__name__', index)!r}")
            if result.action == HookAction.FAIL:
                raise HookFailedError(
                    f"agent {self.agent.id!r}: hook {getattr(hook_fn, '__name__', index)!r} ({name}) failed: "
                    f"{result.error_message or 'no reason given'}"
                )
            if result.modified_payload is not None:
                merged.modified_payload = {**(merged.modified_payload or {}), **result.modified_payload}
                current_payload = (
                    {**(current_payload or {}), **result.modified_payload}
                    if isinstance(current_payload, dict)
                    else result.modified_payload
                )
            if result.modified_output is not None:
                merged.modified_output = result.modified_output
                current_output = result.modified_output
        return merged

    async def _finish(self, result: AgentResult) -> AgentResult:
        self.flush()
        outcome = await self._run_hooks("on_end", self.agent.agent_on_end, current_output=result)
        if outcome.modified_output is not None:
            modified = outcome.modified_output
            if isinstance(modified, AgentResult):
                result = modified
            elif isinstance(modified, dict) and "agent_run_id" in modified:
                result = AgentResult.model_validate(modified)
            else:
                result = result.model_copy(update={"result": modified})
        await self.ctx.step.publish_workflow_event(
            "agent_finish",
            # The tool results are in the run's tool_finish events and its result: not copied again.
            {"result": result.model_dump(mode="json", exclude={"tool_results"}), "_metadata": self.metadata},
            event_type="agent_finish",
        )
        return result

    def _publish_failure(self, exc: Exception) -> None:
        data = {"error": str(exc), "error_type": type(exc).__name__, "_metadata": self.metadata}
        with contextlib.suppress(Exception):  # the failure itself is what matters; the runtime records it
            self.publish([NewEvent("agent_finish", data)])


# --- small pure helpers ------------------------------------------------------------------------


def _usage(usage: LLMUsage) -> Usage:
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_input_tokens=usage.cache_read_tokens,
        cache_creation_input_tokens=usage.cache_creation_tokens,
    )


def _tool_call(part: ToolUsePart) -> ToolCall:
    return ToolCall(
        id=part.id,
        function=ToolCallFunction(name=part.name, arguments=serialization.dumps(part.input)),
        call_id=part.id,
    )


def _apply_guardrail(response: LLMResponse, verdict: GuardrailResult) -> LLMResponse:
    if verdict.modified_content is None and verdict.modified_tool_calls is None:
        return response
    content: list[Any] = []
    for part in response.content:
        if isinstance(part, TextPart) and verdict.modified_content is not None:
            continue
        if isinstance(part, ToolUsePart) and verdict.modified_tool_calls is not None:
            continue
        content.append(part)
    if verdict.modified_content is not None:
        text = (
            verdict.modified_content
            if isinstance(verdict.modified_content, str)
            else serialization.dumps(verdict.modified_content)
        )
        content.append(TextPart(text=text))
    if verdict.modified_tool_calls is not None:
        for call in verdict.modified_tool_calls:
            call = call if isinstance(call, ToolCall) else ToolCall.model_validate(call)
            content.append(
                ToolUsePart(
                    id=call.id, name=call.function.name, input=serialization.loads_plain(call.function.arguments) or {}
                )
            )
    stop = "tool_use" if any(isinstance(p, ToolUsePart) for p in content) else "end_turn"
    return response.model_copy(update={"content": content, "stop_reason": stop})


def _json_text(text: str) -> str:
    """The JSON in a reply, without a Markdown code fence around it."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return stripped.strip()


def _parse_error(schema: Any, text: str) -> str | None:
    import pydantic

    from ..workflow import describe_validation_error

    if not text.strip():
        return "the reply is empty"
    try:
        schema.model_validate_json(_json_text(text))
    except pydantic.ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return "the reply is not valid JSON"
        return describe_validation_error(exc)
    return None


def _flatten(messages: list[Message]) -> list[Message]:
    """The conversation as plain text turns (tool calls and results described in words).

    Another agent does not know this agent's tools, and providers reject tool parts for tools they
    were not given; consecutive turns of one role are merged.
    """
    flat: list[Message] = []
    for message in messages:
        lines: list[str] = []
        for part in message.content:
            if isinstance(part, TextPart):
                lines.append(part.text)
            elif isinstance(part, ToolUsePart):
                lines.append(f"[called tool {part.name} with {serialization.dumps(part.input)}]")
            elif isinstance(part, ToolResultPart):
                lines.append(f"[tool result{' (error)' if part.is_error else ''}: {part.content}]")
        text = "\n".join(line for line in lines if line)
        if not text:
            continue
        if flat and flat[-1].role == message.role:
            flat[-1] = Message(role=message.role, content=[TextPart(text=flat[-1].text + "\n" + text)])
        else:
            flat.append(Message(role=message.role, content=[TextPart(text=text)]))
    while flat and flat[0].role != "user":
        flat.pop(0)
    return flat


def _well_formed(history: list[Message]) -> list[Message]:
    """History the providers accept: every tool call answered in the next message, no stray results.

    A run that failed between a tool call and its results leaves an unanswered call behind.
    """
    out: list[Message] = []
    for index, message in enumerate(history):
        following = history[index + 1] if index + 1 < len(history) else None
        answered = {p.tool_use_id for p in following.content if isinstance(p, ToolResultPart)} if following else set()
        previous = out[-1] if out else None
        asked = {p.id for p in previous.content if isinstance(p, ToolUsePart)} if previous else set()
        parts = [
            p
            for p in message.content
            if not (isinstance(p, ToolUsePart) and p.id not in answered)
            and not (isinstance(p, ToolResultPart) and p.tool_use_id not in asked)
        ]
        if parts:
            out.append(message if len(parts) == len(message.content) else Message(role=message.role, content=parts))
    return out


def _trim(history: list[Message], limit: int) -> list[Message]:
    """The last ``limit`` messages, starting at a user message that is not a tool result."""
    if len(history) <= limit:
        return history
    kept = history[-limit:] if limit > 0 else []
    while kept and (kept[0].role != "user" or any(isinstance(p, ToolResultPart) for p in kept[0].content)):
        kept = kept[1:]
    return kept


__all__ = ["AgentRun", "PayloadValidationError", "default_max_steps", "run_agent"]
