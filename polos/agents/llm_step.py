"""One LLM call as one durable step (kind ``"llm"``).

The reply goes to the conversation log once; the step records ``{"pos", "usage", "stop_reason",
"model", "cost_usd", "response_id"}``.  ``tool_call`` events are written with the step record, in
the same transaction.  Text and reasoning deltas of a streaming call are published as they arrive,
coalesced into chunks (at most one event per ``FLUSH_SECONDS``), so a stream costs a handful of
event rows, not one per token.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .. import serialization
from ..exceptions import StepExecutionError
from ..llm.errors import LLMError
from ..llm.pricing import cost_usd
from ..llm.types import (
    LLMRequest,
    LLMResponse,
    LLMUsage,
    Message,
    ReasoningDelta,
    StreamDone,
    TextDelta,
    ToolSpec,
    ToolUsePart,
)
from ..steps import error_json
from ..store import NewEvent
from ..tracing import span
from .errors import LLMTemporarilyUnavailableError

if TYPE_CHECKING:
    from .loop import AgentRun

LLM = "llm"  # the recorded step kind (a persisted name)
FLUSH_SECONDS = 0.05


class LLMCaller:
    """Makes the LLM calls of one agent run."""

    def __init__(self, run: AgentRun) -> None:
        self.run = run
        self.fresh: set[str] = set()  # steps whose call was made in this run (not replayed)

    def request(self, messages: list[Message], *, system: str | None = None, schema: bool = True) -> LLMRequest:
        run = self.run
        agent = run.agent
        output_schema = agent.output_schema if schema else None
        metadata: dict[str, Any] = {"agent_id": agent.id, "execution_id": run.ctx.execution_id}
        extra = run.payload.get("provider_kwargs")
        if isinstance(extra, dict) and extra:
            metadata["provider_kwargs"] = extra
        return LLMRequest(
            model=agent.model,
            messages=messages,
            system=system if system is not None else run.system,
            tools=tool_specs(agent),
            temperature=agent.temperature,
            max_output_tokens=agent.max_output_tokens,
            output_schema=agent.output_json_schema() if output_schema is not None else None,
            output_schema_name=output_schema.__name__ if output_schema is not None else None,
            thinking=agent.thinking,
            cache=agent.cache,
            metadata=metadata,
        )

    async def call(
        self, key: str, number: int, messages: list[Message], *, stream: bool, with_tool_events: bool = True
    ) -> tuple[LLMResponse, int]:
        """The reply of the step ``key`` (recorded, or made now); returns it and its log position.

        The ``tool_call`` and ``tool_start`` events of the reply's tool calls are written with the
        step unless ``with_tool_events`` is false (guardrails may still change the calls).
        """
        run = self.run
        step = run.ctx.step
        record = step._lookup(key, LLM)
        if record is not None:
            ref = step._value(record)
            position = int(ref["pos"])
            run.position = max(run.position, position + 1)
            return _response(run.entry(position), ref), position
        request = self.request(messages)
        started = time.monotonic()
        response = await self._send(key, number, request, stream=stream and run.streaming)
        self.fresh.add(key)
        if response.cost_usd is None:
            response = response.model_copy(
                update={"cost_usd": cost_usd(response.model or request.model, response.usage)}
            )
        position = run.write(response.to_message())
        ref = {
            "pos": position,
            "usage": response.usage.model_dump(),
            "stop_reason": response.stop_reason,
            "model": response.model,
            "cost_usd": response.cost_usd,
            "response_id": response.response_id,
        }
        events = tool_events(number, response.tool_calls, run.metadata) if with_tool_events else []
        step._write(key, LLM, output=serialization.dumps(ref), started=started, events=events)
        return response, position

    async def generate(self, key: str, request: LLMRequest) -> LLMResponse:
        """A one-off call recorded as its own step (compaction, string guardrails); returns the reply.

        The reply is small and not part of the conversation, so it is recorded in the step itself.
        """
        step = self.run.ctx.step
        record = step._lookup(key, LLM)
        if record is not None:
            return LLMResponse.model_validate(step._value(record))
        started = time.monotonic()
        response = await self._send(key, 0, request, stream=False)
        if response.cost_usd is None:
            response = response.model_copy(
                update={"cost_usd": cost_usd(response.model or request.model, response.usage)}
            )
        step._write(key, LLM, output=serialization.dumps(response.model_dump(mode="json")), started=started)
        return response

    async def _send(self, key: str, number: int, request: LLMRequest, *, stream: bool) -> LLMResponse:
        run = self.run
        agent = run.agent
        attributes = {"llm.provider": agent.provider_name, "llm.model": request.model, "step.key": key}
        try:
            with span(f"llm.{agent.provider_name}", attributes):
                provider = agent.llm()
                if not stream:
                    return await provider.generate(request)
                return await self._stream(provider.stream(request), number)
        except LLMError as exc:
            self.run.publish([NewEvent("llm_error", _error_event(key, agent.provider_name, exc, run.metadata))])
            if exc.retryable:
                raise LLMTemporarilyUnavailableError(
                    f"agent {agent.id!r}, step {key!r}: {agent.provider_name} is unavailable ({exc}); "
                    "the run will be retried",
                    step_key=key,
                ) from exc
            return self._fail(key, exc)
        except Exception as exc:
            return self._fail(key, exc)

    def _fail(self, key: str, exc: Exception) -> LLMResponse:
        run = self.run
        message = f"agent {run.agent.id!r}, step {key!r}: the LLM call failed: {type(exc).__name__}: {exc}"
        run.ctx.step._write(key, LLM, error=error_json(message, type(exc).__name__))
        raise StepExecutionError(message, step_key=key, error_type=type(exc).__name__) from exc

    async def _stream(self, events: Any, number: int) -> LLMResponse:
        run = self.run
        buffer: dict[str, list[str]] = {"text_delta": [], "reasoning_delta": []}
        chunk_index = 0
        started = False
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal chunk_index, started, last_flush
            out: list[NewEvent] = []
            if not started:
                out.append(NewEvent("stream_start", {"step": number, "_metadata": run.metadata}))
                started = True
            for event_type, pieces in buffer.items():
                if pieces:
                    chunk_index += 1
                    data = {"step": number, "chunk_index": chunk_index, "content": "".join(pieces)}
                    out.append(NewEvent(event_type, {**data, "_metadata": run.metadata}))
                    pieces.clear()
            run.publish(out)
            last_flush = time.monotonic()

        response: LLMResponse | None = None
        async for event in events:
            if isinstance(event, TextDelta):
                buffer["text_delta"].append(event.text)
            elif isinstance(event, ReasoningDelta):
                buffer["reasoning_delta"].append(event.text)
            elif isinstance(event, StreamDone):
                response = event.response
            if time.monotonic() - last_flush >= FLUSH_SECONDS and (buffer["text_delta"] or buffer["reasoning_delta"]):
                flush()
        if buffer["text_delta"] or buffer["reasoning_delta"] or not started:
            flush()
        if response is None:
            raise LLMError("the provider's stream ended without a final response")
        return response

    def publish_text(self, key: str, number: int, text: str) -> None:
        """Publish a whole reply as one ``text_delta`` (streaming runs whose replies guardrails checked)."""
        run = self.run
        if key not in self.fresh:
            return  # published when the call was made
        run.publish(
            [
                NewEvent("stream_start", {"step": number, "_metadata": run.metadata}),
                NewEvent("text_delta", {"step": number, "chunk_index": 1, "content": text, "_metadata": run.metadata}),
            ]
        )


def tool_events(number: int, calls: list[ToolUsePart], metadata: dict[str, Any]) -> list[NewEvent]:
    """``tool_call`` then ``tool_start`` events for the tool calls of one reply."""
    events = []
    for call in calls:
        function = {"name": call.name, "arguments": json.dumps(call.input)}
        events.append(
            NewEvent(
                "tool_call",
                {
                    "step": number,
                    "tool_call": {"id": call.id, "call_id": call.id, "type": "function", "function": function},
                    "_metadata": metadata,
                },
            )
        )
    for call in calls:  # the input is in the tool_call event already
        data = {"step": number, "tool_name": call.name, "tool_call_id": call.id}
        events.append(NewEvent("tool_start", {**data, "_metadata": metadata}))
    return events


HANDOFF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "Why the other agent should take over"}},
}


def tool_specs(agent: Any) -> list[ToolSpec]:
    """What the model is offered: the agent's tools, then one transfer tool per handoff target."""
    from .agent import handoff_tool_name

    specs = [ToolSpec(name=t.id, description=t.description or "", input_schema=t.input_schema) for t in agent.tools]
    for target in agent.handoffs:
        about = f": {target.description}" if target.description else ""
        specs.append(
            ToolSpec(
                name=handoff_tool_name(target),
                description=f"Hand the conversation over to the agent '{target.id}'{about}. It answers the user.",
                input_schema=HANDOFF_SCHEMA,
            )
        )
    return specs


def _error_event(key: str, provider: str, exc: LLMError, metadata: dict[str, Any]) -> dict[str, Any]:
    """The trace event of a failed LLM call (the provider's message, never the request)."""
    return {
        "step_key": key,
        "provider": provider,
        "error_type": type(exc).__name__,
        "code": exc.code,
        "status_code": exc.status_code,
        "retryable": exc.retryable,
        "message": str(exc),
        "_metadata": metadata,
    }


def _response(entry: dict[str, Any], ref: dict[str, Any]) -> LLMResponse:
    message = {k: v for k, v in entry.items() if not k.startswith("_")}
    return LLMResponse(
        content=Message.model_validate(message).content,
        stop_reason=ref.get("stop_reason") or "end_turn",
        usage=LLMUsage.model_validate(ref.get("usage") or {}),
        model=ref.get("model") or "",
        response_id=ref.get("response_id"),
        cost_usd=ref.get("cost_usd"),
    )
