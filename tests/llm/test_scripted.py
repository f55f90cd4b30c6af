"""ScriptedModel: an in-process LLMProvider scripted with replies or a function."""

from __future__ import annotations

import pytest

from polos.llm import (
    LLMRateLimitError,
    LLMRequest,
    LLMUsage,
    Message,
    ReasoningDelta,
    StreamDone,
    TextDelta,
    ToolCallStarted,
)
from polos.testing import Reply, ScriptedModel, ScriptExhaustedError

pytestmark = pytest.mark.once

REQUEST = LLMRequest(model="scripted", messages=[Message.user("hello")])


async def test_replies_are_used_in_order_and_requests_recorded() -> None:
    model = ScriptedModel([Reply(tool_calls=[("lookup", {"q": "x"}), ("lookup", {"q": "y"}, "my-id")]), "done"])
    first = await model.generate(REQUEST)
    assert first.stop_reason == "tool_use"
    assert [(c.id, c.input) for c in first.tool_calls] == [("call_0_0", {"q": "x"}), ("my-id", {"q": "y"})]
    second = await model.generate(REQUEST)
    assert (second.text, second.stop_reason) == ("done", "end_turn")
    assert second.usage.input_tokens > 0 and second.usage.output_tokens > 0
    assert model.calls == 2 and model.remaining == 0
    assert model.requests == [REQUEST, REQUEST]
    with pytest.raises(ScriptExhaustedError, match="has 2 replies but was called 3 times"):
        await model.generate(REQUEST)


async def test_a_function_script_may_be_async_and_see_the_request() -> None:
    async def reply(request: LLMRequest) -> Reply:
        return Reply(text=f"echo: {request.messages[-1].text}", usage=LLMUsage(input_tokens=7))

    model = ScriptedModel(reply)
    response = await model.generate(REQUEST)
    assert response.text == "echo: hello"
    assert response.usage == LLMUsage(input_tokens=7)
    assert model.remaining is None


async def test_streaming_matches_generate() -> None:
    reply = Reply(text="one two three four five", reasoning="because", tool_calls=[("t", {})])
    events = [event async for event in ScriptedModel([reply]).stream(REQUEST)]
    assert isinstance(events[-1], StreamDone)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "one two three four five"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "because"
    assert [e.part.name for e in events if isinstance(e, ToolCallStarted)] == ["t"]
    assert events[-1].response == await ScriptedModel([reply]).generate(REQUEST)


async def test_error_replies_raise_provider_errors() -> None:
    model = ScriptedModel([Reply(error=(429, "slow down"), retry_after=3)])
    with pytest.raises(LLMRateLimitError) as caught:
        await model.generate(REQUEST)
    assert caught.value.retry_after == 3


def test_bad_script_entries_are_rejected() -> None:
    with pytest.raises(TypeError, match="Reply or a str"):
        ScriptedModel([42])  # type: ignore[list-item]
