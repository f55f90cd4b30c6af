"""The built-in providers drive the real SDK clients against the fake server, in every wire format."""

from __future__ import annotations

import json

import pytest

from polos.llm import (
    LLMConfigurationError,
    LLMResponse,
    LLMUsage,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamDone,
    TextDelta,
    TextPart,
    ToolCallStarted,
    ToolResultPart,
    ToolSpec,
    cost_usd,
)
from polos.testing import FakeLLMServer, Reply

from .conftest import WIRE_FORMATS, WIRE_IDS, provider_for, simple_request

pytestmark = pytest.mark.once

wire_formats = pytest.mark.parametrize(("name", "llm_api"), WIRE_FORMATS, ids=WIRE_IDS)


async def _stream(provider: object, request: object) -> list[object]:
    return [event async for event in provider.stream(request)]  # type: ignore[attr-defined]


@wire_formats
async def test_a_tool_loop_round_trip(server: FakeLLMServer, name: str, llm_api: str | None) -> None:
    server.script([Reply(text="Let me add.", tool_calls=[("add", {"a": 1, "b": 2})]), "1 + 2 = 3."])
    provider = provider_for(server, name, llm_api)
    request = simple_request(name)
    first = await provider.generate(request)
    assert first.stop_reason == "tool_use"
    assert first.text == "Let me add."
    [call] = first.tool_calls
    assert (call.name, call.input) == ("add", {"a": 1, "b": 2})
    follow_up = request.model_copy(
        update={
            "messages": [
                *request.messages,
                first.to_message(),
                Message(role="user", content=[ToolResultPart(tool_use_id=call.id, content="3")]),
            ]
        }
    )
    second = await provider.generate(follow_up)
    assert (second.text, second.stop_reason, second.tool_calls) == ("1 + 2 = 3.", "end_turn", [])
    sent = server.requests[1]
    assert sent.tool_results == [{"tool_use_id": call.id, "content": "3", "is_error": False}]
    assert sent.system == "You are a calculator."
    assert sent.tool_names == ["add"]
    assert sent.last_user_text == ""


@wire_formats
async def test_streaming_yields_deltas_tool_calls_and_the_same_response(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    reply = Reply(
        text="Adding one and two for you now.",
        tool_calls=[("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})],
        reasoning="The user wants a sum of small numbers.",
    )
    server.script([reply, reply])
    provider = provider_for(server, name, llm_api)
    events = await _stream(provider, simple_request(name))
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert sum(isinstance(e, StreamDone) for e in events) == 1
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert text == "Adding one and two for you now."
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1
    assert reasoning == "The user wants a sum of small numbers."
    calls = [e.part for e in events if isinstance(e, ToolCallStarted)]
    assert [c.input for c in calls] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert done.response.tool_calls == calls
    assert server.requests[0].stream

    server.reset()  # the same reply again, with the same generated ids
    generated = await provider.generate(simple_request(name))
    assert _comparable(generated) == _comparable(done.response)


def _comparable(response: LLMResponse) -> dict[str, object]:
    return response.model_dump(exclude={"response_id", "usage", "cost_usd"})


@wire_formats
async def test_usage_with_cache_tokens_is_reported_and_priced(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    usages = [
        LLMUsage(input_tokens=100, output_tokens=10, cache_read_tokens=0, cache_creation_tokens=900),
        LLMUsage(input_tokens=20, output_tokens=30, cache_read_tokens=900, cache_creation_tokens=50),
    ]
    server.script([Reply(text="one", usage=usages[0]), Reply(text="two", usage=usages[1])])
    provider = provider_for(server, name, llm_api)
    first = await provider.generate(simple_request(name))
    second = (await _stream(provider, simple_request(name)))[-1].response  # type: ignore[attr-defined]
    total = first.usage + second.usage
    if name == "anthropic":
        assert total == usages[0] + usages[1]
    else:
        # OpenAI reports cached prompt tokens only; cache writes are plain input tokens there.
        assert total == LLMUsage(input_tokens=1070, output_tokens=40, cache_read_tokens=900)
    assert first.cost_usd == pytest.approx(cost_usd(first.model, first.usage))
    assert first.cost_usd is not None and first.cost_usd > 0


async def test_anthropic_requests_carry_cache_markers_on_system_tools_and_conversation(
    server: FakeLLMServer,
) -> None:
    server.script(["a", "b"])
    provider = provider_for(server, "anthropic", None)
    request = simple_request("anthropic")
    request.messages.extend([Message.assistant("Sure."), Message.user("And 3 + 4?")])
    await provider.generate(request)
    body = server.requests[0].body
    ephemeral = {"type": "ephemeral"}
    assert body["system"][-1]["cache_control"] == ephemeral
    assert body["tools"][-1]["cache_control"] == ephemeral
    assert body["messages"][-1]["content"][-1]["cache_control"] == ephemeral
    assert "cache_control" not in json.dumps(body["messages"][:-1])
    assert server.requests[0].cache_markers == 3

    await provider.generate(request.model_copy(update={"cache": False}))
    assert server.requests[1].cache_markers == 0


async def test_anthropic_thinking_is_requested_shown_and_passed_back_unchanged(server: FakeLLMServer) -> None:
    server.script([Reply(reasoning="Let me think.", tool_calls=[("add", {"a": 1, "b": 2})]), "3"])
    provider = provider_for(server, "anthropic", None)
    request = simple_request("anthropic", thinking={"budget_tokens": 2048})
    events = await _stream(provider, request)
    first = events[-1].response  # type: ignore[attr-defined]
    [reasoning] = [p for p in first.content if isinstance(p, ReasoningPart)]
    assert reasoning.text == "Let me think." and reasoning.signature
    body = server.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048  # the budget must stay below max_tokens

    request.messages.extend(
        [
            first.to_message(),
            Message(role="user", content=[ToolResultPart(tool_use_id=first.tool_calls[0].id, content="3")]),
        ]
    )
    await provider.generate(request)
    assistant = server.requests[1].body["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "Let me think.", "signature": reasoning.signature}


async def test_anthropic_redacted_thinking_round_trips(server: FakeLLMServer) -> None:
    server.script(["ok"])
    provider = provider_for(server, "anthropic", None)
    request = simple_request("anthropic")
    request.messages.append(
        Message(role="assistant", content=[ReasoningPart(text="opaque", redacted=True), TextPart(text="x")])
    )
    request.messages.append(Message.user("go on"))
    await provider.generate(request)
    assert server.requests[0].body["messages"][1]["content"][0] == {"type": "redacted_thinking", "data": "opaque"}


@wire_formats
async def test_structured_output_is_requested(server: FakeLLMServer, name: str, llm_api: str | None) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    server.script(['{"answer": 3}'])
    provider = provider_for(server, name, llm_api)
    request = simple_request(name, output_schema=schema, output_schema_name="Answer", tools=[])
    response = await provider.generate(request)
    assert json.loads(response.text) == {"answer": 3}
    body = server.requests[0].body
    if name == "anthropic":
        assert json.dumps(schema, sort_keys=True) in server.requests[0].system
    elif llm_api == "responses":
        assert body["text"]["format"] == {"type": "json_schema", "name": "Answer", "schema": schema, "strict": False}
    else:
        assert body["response_format"]["json_schema"]["schema"] == schema
        assert body["response_format"]["json_schema"]["name"] == "Answer"


@wire_formats
async def test_max_tokens_and_temperature_are_sent(server: FakeLLMServer, name: str, llm_api: str | None) -> None:
    server.script([Reply(text="cut", stop_reason="max_tokens")])
    provider = provider_for(server, name, llm_api)
    response = await provider.generate(simple_request(name, max_output_tokens=77, temperature=0.25))
    assert response.stop_reason == "max_tokens"
    body = server.requests[0].body
    key = {"anthropic": "max_tokens", "responses": "max_output_tokens", "chat": "max_completion_tokens"}
    assert body[key[llm_api or name]] == 77
    assert body["temperature"] == 0.25


async def test_openai_reasoning_effort_and_invalid_tool_arguments(server: FakeLLMServer) -> None:
    server.script(["ok"])
    provider = provider_for(server, "openai", "responses")
    await provider.generate(simple_request("openai", thinking={"effort": "high"}))
    assert server.requests[0].body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert server.requests[0].body["store"] is False

    from polos.llm.providers._openai_chat import parse_arguments

    assert parse_arguments('{"a": 1') == {"__invalid_json__": '{"a": 1'}
    assert parse_arguments("") == {}


@wire_formats
async def test_provider_kwargs_are_sent_as_is(server: FakeLLMServer, name: str, llm_api: str | None) -> None:
    server.script(["ok"])
    provider = provider_for(server, name, llm_api)
    await provider.generate(simple_request(name, metadata={"provider_kwargs": {"top_p": 0.5}}))
    assert server.requests[0].body["top_p"] == 0.5
    with pytest.raises(LLMConfigurationError, match="cannot set messages"):
        await provider.generate(simple_request(name, metadata={"provider_kwargs": {"messages": []}}))
    assert server.count() == 1


@wire_formats
async def test_reasoning_from_another_provider_is_not_sent_back(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script(["ok"])
    request = simple_request(name)
    request.messages.extend(
        [
            Message(role="assistant", content=[ReasoningPart(text="unsigned thoughts")]),
            Message.assistant("Hello."),
            Message.user("Again?"),
        ]
    )
    await provider_for(server, name, llm_api).generate(request)
    assert "unsigned thoughts" not in json.dumps(server.requests[0].body)


async def test_a_thinking_budget_above_max_output_tokens_is_refused(server: FakeLLMServer) -> None:
    provider = provider_for(server, "anthropic", None)
    request = simple_request("anthropic", thinking={"budget_tokens": 4096}, max_output_tokens=1000)
    with pytest.raises(LLMConfigurationError, match="must be below max_output_tokens"):
        await provider.generate(request)
    assert server.count() == 0


@pytest.mark.parametrize(("thinking", "effort"), [({"budget_tokens": 1024}, "low"), ({"budget_tokens": 20000}, "high")])
async def test_openai_chat_maps_a_thinking_budget_to_an_effort(
    server: FakeLLMServer, thinking: dict[str, int], effort: str
) -> None:
    server.script(["ok"])
    await provider_for(server, "openai", "chat").generate(simple_request("openai", thinking=thinking))
    assert server.requests[0].body["reasoning_effort"] == effort


async def test_openai_reasoning_items_are_sent_back_encrypted_and_only_to_openai(server: FakeLLMServer) -> None:
    server.script([Reply(reasoning="Plan: call add.", tool_calls=[("add", {"a": 1, "b": 2})]), "3", "ok"])
    provider = provider_for(server, "openai", "responses")
    request = simple_request("openai", thinking={"effort": "low"})
    first = await provider.generate(request)
    assert server.requests[0].body["include"] == ["reasoning.encrypted_content"]
    [reasoning] = [p for p in first.content if isinstance(p, ReasoningPart)]
    assert (reasoning.text, reasoning.provider) == ("Plan: call add.", "openai")
    request.messages.extend(
        [
            first.to_message(),
            Message(role="user", content=[ToolResultPart(tool_use_id=first.tool_calls[0].id, content="3")]),
        ]
    )
    await provider.generate(request)
    sent = server.requests[1].body["input"][1]
    assert sent["type"] == "reasoning" and sent["id"] == "rs_fake_0"
    assert sent["encrypted_content"] == "encrypted-0"
    assert sent["summary"] == [{"type": "summary_text", "text": "Plan: call add."}]

    await provider_for(server, "anthropic", None).generate(request.model_copy(update={"model": "claude-haiku-4-5"}))
    assert "encrypted-0" not in json.dumps(server.requests[2].body)


@wire_formats
async def test_tool_names_the_apis_reject_are_refused_before_any_call(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    bad = ToolSpec(name="sandbox.exec", description="x", input_schema={"type": "object"})
    with pytest.raises(LLMConfigurationError, match=r"'sandbox\.exec' is not accepted"):
        await provider_for(server, name, llm_api).generate(simple_request(name, tools=[bad]))
    assert server.count() == 0
