"""Agents on real worker processes, talking to the fake LLM server through the official SDKs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from polos.testing import FakeLLMServer, Reply
from polos.types import AgentResult
from polos_django.models import AgentMessage, Execution, Step
from tests.agents.agents import w_anthropic_agent, w_crash_agent, w_openai_agent, w_openai_chat_agent
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client(agent_worker: Any) -> Iterator[Any]:
    from celery import current_app

    from polos_django.client import LocalClient
    from tests.celery_app import app

    previous = current_app._get_current_object()
    app.set_current()
    yield LocalClient()
    previous.set_current()


async def db(fn: Any) -> Any:
    """Run a synchronous ORM query from an async test."""
    return await asyncio.to_thread(fn)


async def test_anthropic_agent_with_tools_caching_and_usage(client, llm: FakeLLMServer):
    from polos.llm import LLMUsage

    usage = LLMUsage(input_tokens=12, output_tokens=7, cache_read_tokens=900, cache_creation_tokens=300)
    llm.reset(
        [
            Reply(text="Checking.", tool_calls=[("w_get_weather", {"city": "Paris"})], usage=usage),
            Reply(text="It is 21 C in Paris.", usage=usage),
        ]
    )
    result = await w_anthropic_agent.run(client, "Weather in Paris?", timeout=60)

    assert isinstance(result, AgentResult)
    assert result.result == "It is 21 C in Paris."
    assert result.tool_results[0].result == {"city": "Paris", "temperature_c": 21}
    assert result.usage.cache_read_input_tokens == 1800 and result.usage.cache_creation_input_tokens == 600
    assert result.usage.input_tokens == 24 and result.usage.output_tokens == 14
    assert result.cost_usd is not None and result.cost_usd > 0
    first, second = llm.requests
    assert first.path == "/v1/messages" and first.system == "You answer weather questions."
    assert first.tool_names == ["w_get_weather"]
    assert first.cache_markers >= 1 and second.cache_markers >= 1
    assert second.tool_results and second.tool_results[0]["tool_use_id"]
    # The conversation is stored once: four log rows, and the LLM steps record positions only.
    conversation = f"run:{result.agent_run_id}"
    assert await db(AgentMessage.objects.filter(conversation_id=conversation).count) == 4
    llm_steps = await db(lambda: list(Step.objects.filter(execution_id=result.agent_run_id, key__startswith="llm_")))
    assert {s.key for s in llm_steps} == {"llm_1", "llm_2"}
    assert all(len(s.output) < 400 and "Paris" not in s.output for s in llm_steps)


@pytest.mark.parametrize("agent", [w_openai_agent, w_openai_chat_agent], ids=["responses", "chat"])
async def test_openai_agent(client, llm: FakeLLMServer, agent):
    llm.reset([Reply(tool_calls=[("w_get_weather", {"city": "Oslo"})]), "Cold in Oslo."])
    result = await agent.run(client, "Weather in Oslo?", timeout=60)
    assert result.result == "Cold in Oslo."
    expected = "/v1/chat/completions" if agent.provider_llm_api == "chat" else "/v1/responses"
    assert [r.path for r in llm.requests] == [expected, expected]


@pytest.mark.parametrize("agent", [w_anthropic_agent, w_openai_agent], ids=["anthropic", "openai"])
async def test_streaming_run_on_a_worker(client, llm: FakeLLMServer, agent):
    llm.reset([Reply(text="Sunny and warm in Rome today, enjoy the walk.")])
    stream = await agent.stream(client, "Weather in Rome?")
    text = await stream.text()
    assert text == "Sunny and warm in Rome today, enjoy the walk."
    assert llm.requests[0].stream
    result = await stream.result()
    assert result.result == text


async def test_thinking_is_passed_back_with_its_signature(client, llm: FakeLLMServer):
    llm.reset(
        [
            Reply(reasoning="The user wants Paris; call the tool.", tool_calls=[("w_get_weather", {"city": "Paris"})]),
            "21 C.",
        ]
    )
    stream = await w_anthropic_agent.stream(client, "Weather in Paris?")
    reasoning = [e.data["content"] async for e in stream.events if e.event_type == "reasoning_delta"]
    assert "".join(reasoning) == "The user wants Paris; call the tool."
    assert (await stream.result()).result == "21 C."
    assistant = next(m for m in llm.requests[1].body["messages"] if m["role"] == "assistant")
    thinking = [block for block in assistant["content"] if block["type"] == "thinking"]
    assert thinking and thinking[0]["thinking"] == "The user wants Paris; call the tool." and thinking[0]["signature"]


def test_crash_mid_agent_repeats_no_recorded_llm_call(start_workers, fake_llm: FakeLLMServer):
    from asgiref.sync import async_to_sync
    from celery import current_app

    from polos_django.client import LocalClient
    from tests.celery_app import app

    previous = current_app._get_current_object()
    app.set_current()
    fake = fake_llm.reset(
        [Reply(text=f"call {i}", tool_calls=[("w_work", {"seconds": 1.5})]) for i in range(1, 6)] + ["all done"]
    )
    [worker] = start_workers(1, extra_env=fake.env())
    try:
        handle = async_to_sync(w_crash_agent.invoke)(LocalClient(), {"input": "work six times"})
        # Kill the worker once the 3rd LLM call is recorded (it is then busy running the 3rd tool).
        wait_until(
            lambda: Step.objects.filter(execution_id=handle.id, key="llm_3").exists(), timeout=60, message="llm_3"
        )
        recorded = set(
            Step.objects.filter(execution_id=handle.id, key__startswith="llm_").values_list("key", flat=True)
        )
        worker.kill()
        worker.start()
        wait_until(
            lambda: Execution.objects.filter(id=handle.id, status__in=["completed", "failed"]).exists(),
            timeout=120,
            message="the agent run to finish after the crash",
        )
        execution = Execution.objects.get(id=handle.id)
        assert execution.status == "completed", execution.error
        assert json.loads(execution.result)["value"]["result"] == "all done"
    finally:
        previous.set_current()
    # Each LLM call is identified by the length of the conversation it sends.
    sizes = [len(r.body["messages"]) for r in fake.requests]
    repeated = {size for size in sizes if sizes.count(size) > 1}
    recorded_sizes = {2 * int(key.split("_")[1]) - 1 for key in recorded}
    assert not (repeated & recorded_sizes), f"recorded calls were repeated: {sizes} (recorded {sorted(recorded)})"
    assert sorted(set(sizes)) == [1, 3, 5, 7, 9, 11]
    print(f"\nLLM requests: {len(sizes)} for 6 calls (recorded before the kill: {sorted(recorded)})")
