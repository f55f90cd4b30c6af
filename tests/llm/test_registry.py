"""Choosing providers by name: the registry, API keys, base URLs, API flavours."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polos.llm import (
    LLMConfigurationError,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    LLMStreamEvent,
    Message,
    StreamDone,
    TextPart,
    get_provider,
    register_provider,
    registered_providers,
)
from polos.testing import FakeLLMServer, Reply

from .conftest import TEST_KEY, simple_request

pytestmark = pytest.mark.once


def test_unknown_provider_lists_the_registered_names() -> None:
    with pytest.raises(LLMConfigurationError) as caught:
        get_provider("antropic")
    message = str(caught.value)
    assert "'antropic'" in message
    for name in ("anthropic", "openai", "ollama", "vllm", "lmstudio", "openai-compatible"):
        assert name in message
    assert "register_provider" in message


@pytest.mark.parametrize(("name", "env_var"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")])
async def test_a_missing_key_fails_at_the_first_call_naming_the_env_var(
    name: str, env_var: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(env_var, raising=False)
    provider = get_provider(name)  # creating it needs no key
    with pytest.raises(LLMConfigurationError) as caught:
        await provider.generate(simple_request(name))
    assert env_var in str(caught.value)
    assert caught.value.details["env_var"] == env_var
    with pytest.raises(LLMConfigurationError, match=env_var):
        async for _ in provider.stream(simple_request(name)):
            pass


async def test_keys_and_base_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(["from anthropic", "from openai"]) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        assert (await get_provider("anthropic").generate(simple_request("anthropic"))).text == "from anthropic"
        assert (await get_provider("openai").generate(simple_request("openai"))).text == "from openai"
    assert [r.path for r in server.requests] == ["/v1/messages", "/v1/responses"]


async def test_an_explicit_base_url_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    with FakeLLMServer(["ok"]) as server:
        provider = get_provider("anthropic", base_url=server.anthropic_base_url, api_key=TEST_KEY)
        assert (await provider.generate(simple_request("anthropic"))).text == "ok"


async def test_openai_with_a_non_openai_base_url_is_an_openai_compatible_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeLLMServer(["via chat", "via responses"]) as server:
        compatible = get_provider("openai", base_url=server.openai_base_url)  # no key needed
        assert (await compatible.generate(simple_request("openai"))).text == "via chat"
        explicit = get_provider("openai", base_url=server.openai_base_url, llm_api="responses")
        assert (await explicit.generate(simple_request("openai"))).text == "via responses"
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/v1/responses"]
    assert server.requests[0].raw_headers()["authorization"] == "Bearer not-needed"


@pytest.mark.parametrize("name", ["ollama", "vllm", "lmstudio", "openai-compatible"])
async def test_local_server_names_speak_chat_completions(name: str) -> None:
    with FakeLLMServer([Reply(text="local")]) as server:
        provider = get_provider(name, base_url=server.openai_base_url)
        request = simple_request("openai", max_output_tokens=50)
        assert (await provider.generate(request)).text == "local"
    body = server.requests[0].body
    assert server.requests[0].path == "/v1/chat/completions"
    assert body["max_tokens"] == 50 and "max_completion_tokens" not in body  # the older name servers know
    assert provider.name == name


def test_default_base_urls_of_local_servers_and_bad_options() -> None:
    assert get_provider("ollama").resolved_base_url() == "http://localhost:11434/v1"  # type: ignore[attr-defined]
    with pytest.raises(LLMConfigurationError, match="provider_base_url"):
        get_provider("openai-compatible")
    with pytest.raises(LLMConfigurationError, match="'responses' or 'chat'"):
        get_provider("openai", llm_api="completions")
    with pytest.raises(LLMConfigurationError, match="messages"):
        get_provider("anthropic", llm_api="chat")


def test_reprs_never_show_the_key() -> None:
    provider = get_provider("anthropic", api_key=TEST_KEY)
    assert TEST_KEY not in repr(provider)
    assert TEST_KEY not in repr(get_provider("openai", api_key=TEST_KEY))


class EchoProvider(LLMProvider):
    name = "echo"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    async def generate(self, request: LLMRequest) -> LLMResponse:
        text = self.prefix + request.messages[-1].text
        return LLMResponse(content=[TextPart(text=text)], stop_reason="end_turn", model=request.model)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        yield StreamDone(response=await self.generate(request))


async def test_custom_providers_can_be_registered() -> None:
    register_provider("echo", lambda *, base_url, api_key, llm_api, **_: EchoProvider(base_url or "> "))
    assert "echo" in registered_providers()
    provider = get_provider("echo")
    request = LLMRequest(model="any", messages=[Message.user("hello")])
    assert (await provider.generate(request)).text == "> hello"
    events = [event async for event in get_provider("echo", base_url="# ").stream(request)]
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "# hello"
    with pytest.raises(LLMConfigurationError):
        register_provider("", lambda **_: provider)
