"""Fixtures of the provider tests: a fake LLM server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from polos.llm import LLMProvider, LLMRequest, Message, ToolSpec, get_provider
from polos.llm.retry import RetryPolicy
from polos.testing import FakeLLMServer

FAST_RETRIES = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05, jitter=0)
TEST_KEY = "sk-test-0123456789abcdef"

# (provider name, llm_api) of every wire format the fake server speaks.
WIRE_FORMATS = [("anthropic", None), ("openai", "responses"), ("openai", "chat")]
WIRE_IDS = ["anthropic", "openai-responses", "openai-chat"]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


def provider_for(server: FakeLLMServer, name: str, llm_api: str | None, **options: object) -> LLMProvider:
    """A provider of ``name`` talking to ``server`` with a test key and fast retries."""
    base_url = server.anthropic_base_url if name == "anthropic" else server.openai_base_url
    options.setdefault("retry_policy", FAST_RETRIES)
    if name == "openai":
        options.setdefault("official", True)  # the fake server plays OpenAI's own API
    return get_provider(name, base_url=base_url, api_key=TEST_KEY, llm_api=llm_api, **options)


def model_for(name: str) -> str:
    return "claude-haiku-4-5" if name == "anthropic" else "gpt-4o"


ADD_TOOL = ToolSpec(
    name="add",
    description="Add two integers.",
    input_schema={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def simple_request(name: str, text: str = "What is 1 + 2?", **fields: object) -> LLMRequest:
    values: dict[str, object] = {
        "model": model_for(name),
        "messages": [Message.user(text)],
        "system": "You are a calculator.",
        "tools": [ADD_TOOL],
    }
    values.update(fields)
    return LLMRequest.model_validate(values)
