"""The fake LLM server: scripts, records, the SDKs as clients, other processes as clients."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import anthropic
import openai
import pytest

from polos.llm import LLMBadRequestError, Message, ToolResultPart
from polos.testing import FakeLLMServer, RecordedRequest, Reply

from .conftest import TEST_KEY, provider_for, simple_request

pytestmark = pytest.mark.once


async def test_the_official_clients_work_against_it_directly() -> None:
    script = [Reply(text="hi from claude"), Reply(text="hi from gpt"), Reply(text="hi from chat")]
    with FakeLLMServer(script) as server:
        claude = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key=TEST_KEY, max_retries=0)
        message = await claude.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hello"}]
        )
        assert message.content[0].text == "hi from claude"  # type: ignore[union-attr]
        gpt = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key=TEST_KEY, max_retries=0)
        response = await gpt.responses.create(model="gpt-4o", input="hello")
        assert response.output_text == "hi from gpt"
        completion = await gpt.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
        assert completion.choices[0].message.content == "hi from chat"
        assert server.counts() == {"/v1/messages": 1, "/v1/responses": 1, "/v1/chat/completions": 1}
        assert server.count(api="anthropic") == 1
        assert [r.last_user_text for r in server.requests] == ["hello"] * 3


def test_the_sdk_stream_helpers_accept_its_events() -> None:
    reply = Reply(text="streamed words from the fake server", reasoning="hm", tool_calls=[("add", {"a": [1, 2]})])
    with FakeLLMServer([reply] * 3) as server:
        claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key=TEST_KEY, max_retries=0)
        with claude.messages.stream(
            model="claude-haiku-4-5", max_tokens=4000, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == "streamed words from the fake server"
        assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
        assert final.content[2].input == {"a": [1, 2]}  # type: ignore[union-attr]

        gpt = openai.OpenAI(base_url=server.openai_base_url, api_key=TEST_KEY, max_retries=0)
        with gpt.responses.stream(model="gpt-4o", input="hi") as responses_stream:
            response = responses_stream.get_final_response()
        assert response.output_text == "streamed words from the fake server"
        assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
        with gpt.chat.completions.stream(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]) as chat_stream:
            completion = chat_stream.get_final_completion()
        message = completion.choices[0].message
        assert message.content == "streamed words from the fake server"
        assert json.loads(message.tool_calls[0].function.arguments) == {"a": [1, 2]}  # type: ignore[index,union-attr]


async def test_a_function_script_sees_the_parsed_request() -> None:
    def script(request: RecordedRequest) -> Reply | str:
        if request.tool_results:
            return f"The tool said {request.tool_results[0]['content']}."
        return Reply(tool_calls=[("add", {"a": 2, "b": 2})]) if "add" in request.tool_names else "no tools"

    with FakeLLMServer(script) as server:
        provider = provider_for(server, "openai", "chat")
        first = await provider.generate(simple_request("openai"))
        assert first.tool_calls[0].input == {"a": 2, "b": 2}
        assert (await provider.generate(simple_request("openai", tools=[]))).text == "no tools"
        assert server.remaining is None


async def test_an_exhausted_script_fails_fast_with_a_clear_message() -> None:
    with FakeLLMServer(["only one"]) as server:
        provider = provider_for(server, "anthropic", None)
        await provider.generate(simple_request("anthropic"))
        assert server.remaining == 0
        with pytest.raises(LLMBadRequestError, match="the script has 1 replies but request 2 arrived"):
            await provider.generate(simple_request("anthropic"))
        assert server.count() == 2  # not retried
        assert len(server.errors) == 1


async def test_a_failing_script_function_is_reported() -> None:
    def script(request: RecordedRequest) -> str:
        raise KeyError("missing")

    with FakeLLMServer(script) as server:
        with pytest.raises(LLMBadRequestError, match="script function failed"):
            await provider_for(server, "openai", "responses").generate(simple_request("openai"))
        assert "KeyError" in server.errors[0]


def test_script_reset_add_replies_and_unknown_routes() -> None:
    server = FakeLLMServer(["a"])
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    with server:
        server.add_replies("b", Reply(text="c"))
        assert server.remaining == 3
        _post(server.url + "/v1/messages", {"model": "m", "max_tokens": 5, "messages": []})
        assert server.remaining == 2 and server.count() == 1
        server.reset()
        assert server.count() == 0 and server.remaining == 3
        server.reset(["z"])
        assert server.remaining == 1
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(server.url + "/v1/embeddings", {})
        assert caught.value.code == 404
        assert server.last_request.api == "unknown"


def test_wait_for_requests_blocks_until_they_arrive() -> None:
    with FakeLLMServer(["a", "b"]) as server:
        url = server.url + "/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        threading.Timer(0.1, _post, (url, body)).start()
        threading.Timer(0.2, _post, (url, body)).start()
        assert len(server.wait_for_requests(2, timeout=10)) == 2
        with pytest.raises(TimeoutError, match="got 2 requests, expected 3"):
            server.wait_for_requests(3, timeout=0.1)


def test_another_process_consumes_the_script_in_order() -> None:
    code = (
        "import anthropic, openai\n"
        "a = anthropic.Anthropic(max_retries=0)\n"
        "print(a.messages.create(model='claude-haiku-4-5', max_tokens=5,"
        " messages=[{'role': 'user', 'content': 'one'}]).content[0].text)\n"
        "o = openai.OpenAI(max_retries=0)\n"
        "print(o.chat.completions.create(model='gpt-4o',"
        " messages=[{'role': 'user', 'content': 'two'}]).choices[0].message.content)\n"
    )
    with FakeLLMServer(["first reply", "second reply"]) as server:
        env = {"PATH": "/usr/bin:/bin", **server.env()}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split("\n")[:2] == ["first reply", "second reply"]
        assert [r.last_user_text for r in server.requests] == ["one", "two"]


def test_patched_env_points_this_process_at_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://example.invalid")
    with FakeLLMServer() as server, server.patched_env():
        import os

        assert os.environ["ANTHROPIC_BASE_URL"] == server.anthropic_base_url
        assert os.environ["OPENAI_BASE_URL"] == server.openai_base_url
    assert os.environ["ANTHROPIC_BASE_URL"] == "http://example.invalid"


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


async def test_tool_call_ids_stay_unique_across_scripts_and_clients_can_be_closed() -> None:
    with FakeLLMServer([Reply(tool_calls=[("add", {})])]) as server:
        provider = provider_for(server, "anthropic", None)
        first = await provider.generate(simple_request("anthropic"))
        server.script([Reply(tool_calls=[("add", {})])])
        second = await provider.generate(simple_request("anthropic"))
        assert first.tool_calls[0].id != second.tool_calls[0].id
        await provider.aclose()
        await provider.aclose()  # idempotent
        server.script(["again"])
        assert (await provider.generate(simple_request("anthropic"))).text == "again"


async def test_simulated_prompt_caching_reads_the_prefix_written_by_earlier_turns() -> None:
    script = [Reply(tool_calls=[("add", {"a": i, "b": 1})]) for i in range(2)] + ["done"]
    with FakeLLMServer(script, simulate_cache=True) as server:
        provider = provider_for(server, "anthropic", None)
        request = simple_request("anthropic", system="You are a calculator. " * 50)
        usages = []
        for _ in range(3):
            response = await provider.generate(request)
            usages.append(response.usage)
            if response.tool_calls:
                request.messages.extend(
                    [
                        response.to_message(),
                        Message(
                            role="user", content=[ToolResultPart(tool_use_id=response.tool_calls[0].id, content="ok")]
                        ),
                    ]
                )
        first, second, third = usages
        assert first.cache_read_tokens == 0 and first.cache_creation_tokens > 250  # the long system prompt
        assert second.cache_read_tokens == first.cache_creation_tokens  # turn 1's prefix, read back
        assert 0 < second.cache_creation_tokens < first.cache_creation_tokens  # only the new turn is written
        assert third.cache_read_tokens == second.cache_read_tokens + second.cache_creation_tokens
        total = first + second + third
        assert total.cache_read_tokens == second.cache_read_tokens + third.cache_read_tokens

        server.reset(["x"])
        uncached = await provider.generate(request.model_copy(update={"cache": False}))
        assert uncached.usage.cache_read_tokens == uncached.usage.cache_creation_tokens == 0
        assert uncached.usage.input_tokens > first.cache_creation_tokens


@pytest.mark.parametrize("llm_api", ["responses", "chat"])
async def test_simulated_openai_caching_reads_the_longest_prefix_seen(llm_api: str) -> None:
    with FakeLLMServer(["one", "two"], simulate_cache=True) as server:
        provider = provider_for(server, "openai", llm_api)
        request = simple_request("openai", system="You are a calculator. " * 50)
        first = await provider.generate(request)
        request.messages.extend([first.to_message(), Message.user("And now?")])
        second = await provider.generate(request)
    assert first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens >= first.usage.input_tokens  # the whole first request
    assert second.usage.cache_creation_tokens == 0
    assert 0 < second.usage.input_tokens < second.usage.cache_read_tokens
