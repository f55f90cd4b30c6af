"""The provider-neutral types, errors and prices."""

from __future__ import annotations

import pickle

import pytest
from pydantic import TypeAdapter

from polos.exceptions import ConfigurationError, PolosError
from polos.llm import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConfigurationError,
    LLMConnectionError,
    LLMError,
    LLMOverloadedError,
    LLMRateLimitError,
    LLMResponse,
    LLMStreamEvent,
    LLMUsage,
    Message,
    ReasoningPart,
    StreamDone,
    TextPart,
    ToolResultPart,
    ToolUsePart,
    cost_usd,
)
from polos.llm.pricing import price_of, register_price

pytestmark = pytest.mark.once

ERRORS = [
    LLMError,
    LLMConfigurationError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMRateLimitError,
    LLMOverloadedError,
    LLMConnectionError,
]


def test_messages_round_trip_through_json_with_every_part_type() -> None:
    message = Message(
        role="assistant",
        content=[
            ReasoningPart(text="thinking", signature="sig"),
            TextPart(text="Let me add."),
            ToolUsePart(id="t1", name="add", input={"a": 1}),
        ],
    )
    reply = Message(role="user", content=[ToolResultPart(tool_use_id="t1", content="3", is_error=True)])
    for original in (message, reply):
        assert Message.model_validate_json(original.model_dump_json()) == original
    assert Message.user("hi").content == [TextPart(text="hi")]
    assert Message.assistant("yo").role == "assistant"
    assert message.text == "Let me add."


def test_usage_adds_every_counter() -> None:
    total = LLMUsage(input_tokens=1, output_tokens=2, cache_read_tokens=3, cache_creation_tokens=4) + LLMUsage(
        input_tokens=10, output_tokens=20, cache_read_tokens=30, cache_creation_tokens=40
    )
    assert total == LLMUsage(input_tokens=11, output_tokens=22, cache_read_tokens=33, cache_creation_tokens=44)
    assert total.total_tokens == 110
    assert sum([LLMUsage(input_tokens=1)] * 3, LLMUsage()).input_tokens == 3


def test_response_helpers() -> None:
    response = LLMResponse(
        content=[
            ReasoningPart(text="hmm"),
            TextPart(text="a"),
            ToolUsePart(id="1", name="x", input={}),
            TextPart(text="b"),
        ],
        stop_reason="tool_use",
        model="m",
    )
    assert response.text == "ab"
    assert [c.name for c in response.tool_calls] == ["x"]
    assert response.reasoning == "hmm"
    assert response.to_message().role == "assistant"
    assert response.to_message().content == response.content


def test_stream_events_are_a_discriminated_union() -> None:
    adapter: TypeAdapter[LLMStreamEvent] = TypeAdapter(LLMStreamEvent)
    done = StreamDone(response=LLMResponse(content=[], stop_reason="end_turn", model="m"))
    assert adapter.validate_json(done.model_dump_json()) == done
    assert adapter.validate_python({"type": "text_delta", "text": "x"}).text == "x"  # type: ignore[union-attr]


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_errors_pickle_and_have_stable_codes(cls: type[LLMError]) -> None:
    error = cls("provider said no", provider="anthropic", status_code=418)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == "provider said no"
    assert copy.provider == "anthropic"
    assert copy.status_code == 418
    assert isinstance(copy, PolosError)
    assert copy.code.startswith("llm_")
    assert len({c.code for c in ERRORS}) == len(ERRORS)


def test_rate_limit_error_keeps_retry_after_and_configuration_error_is_a_configuration_error() -> None:
    copy = pickle.loads(pickle.dumps(LLMRateLimitError("slow down", retry_after=1.5, provider="openai")))
    assert copy.retry_after == 1.5
    assert copy.status_code == 429
    assert copy.retryable and not LLMAuthenticationError("x").retryable
    assert issubclass(LLMConfigurationError, ConfigurationError)


def test_prices_match_families_and_dated_snapshots() -> None:
    usage = LLMUsage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000)
    # claude-sonnet-4-5: $3 in, $15 out, cache reads at a tenth of input.
    assert cost_usd("claude-sonnet-4-5-20250929", usage) == pytest.approx(3 + 15 + 0.3)
    assert cost_usd("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.15 + 0.6 + 0.075)
    assert price_of("gpt-4o") != price_of("gpt-4o-mini")
    assert cost_usd("my-local-llama", usage) is None
    register_price("my-local-llama", input=1, output=2)
    assert cost_usd("my-local-llama", LLMUsage(input_tokens=1_000_000, output_tokens=500_000)) == pytest.approx(2)
