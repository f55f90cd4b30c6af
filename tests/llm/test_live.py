"""The providers against the real APIs: run only when the API key is set (never in CI without keys)."""

from __future__ import annotations

import os

import pytest

from polos.llm import LLMRequest, Message, StreamDone, TextDelta, ToolResultPart, get_provider
from polos.testing.fake_llm import FAKE_API_KEY

from .conftest import ADD_TOOL

pytestmark = pytest.mark.once


def _real_key(env_var: str) -> bool:
    return os.environ.get(env_var, "") not in ("", FAKE_API_KEY)


LIVE = [
    pytest.param(
        "anthropic",
        None,
        "claude-haiku-4-5",
        marks=pytest.mark.skipif(not _real_key("ANTHROPIC_API_KEY"), reason="ANTHROPIC_API_KEY is not set"),
    ),
    *(
        pytest.param(
            "openai",
            api,
            "gpt-4o-mini",
            marks=pytest.mark.skipif(not _real_key("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set"),
        )
        for api in ("responses", "chat")
    ),
]


@pytest.mark.parametrize(("name", "llm_api", "model"), LIVE)
async def test_a_real_tool_round_trip_and_stream(name: str, llm_api: str | None, model: str) -> None:
    # Only the official endpoints: a base URL left in the environment would point elsewhere.
    base_url = "https://api.anthropic.com" if name == "anthropic" else "https://api.openai.com/v1"
    provider = get_provider(name, base_url=base_url, llm_api=llm_api)
    request = LLMRequest(
        model=model,
        system="Use the add tool for any arithmetic.",
        messages=[Message.user("What is 17 + 25?")],
        tools=[ADD_TOOL],
        max_output_tokens=300,
    )
    first = await provider.generate(request)
    assert first.stop_reason == "tool_use", first
    [call] = first.tool_calls
    assert call.name == "add" and call.input == {"a": 17, "b": 25}
    request.messages.extend(
        [first.to_message(), Message(role="user", content=[ToolResultPart(tool_use_id=call.id, content="42")])]
    )
    events = [event async for event in provider.stream(request)]
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert "42" in done.response.text
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.response.text
    assert first.usage.input_tokens > 0 and done.response.usage.output_tokens > 0
