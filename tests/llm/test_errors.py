"""Provider errors: retried with backoff honouring Retry-After, or raised at once with the provider's
message; never leaking the API key."""

from __future__ import annotations

import pickle
import time

import pytest

from polos.llm import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMOverloadedError,
    LLMRateLimitError,
    get_provider,
)
from polos.llm.providers._base import parse_retry_after
from polos.llm.retry import RetryPolicy
from polos.testing import FakeLLMServer, Reply

from .conftest import FAST_RETRIES, TEST_KEY, WIRE_FORMATS, WIRE_IDS, provider_for, simple_request

pytestmark = pytest.mark.once

wire_formats = pytest.mark.parametrize(("name", "llm_api"), WIRE_FORMATS, ids=WIRE_IDS)


@wire_formats
async def test_rate_limits_are_retried_after_the_retry_after_delay(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script(
        [
            Reply(error=(429, "Too many requests, slow down."), retry_after=0.2),
            Reply(error=(429, "Too many requests, slow down."), retry_after=0.2),
            "finally",
        ]
    )
    provider = provider_for(server, name, llm_api, retry_policy=RetryPolicy(max_attempts=3, initial_delay=30))
    started = time.monotonic()
    response = await provider.generate(simple_request(name))
    assert response.text == "finally"
    assert time.monotonic() - started >= 0.4  # waited what the server asked (not the 30 s backoff)
    assert server.count() == 3
    assert [r["error"] for r in response.retries] == ["llm_rate_limited", "llm_rate_limited"]
    assert response.retries[0]["wait_seconds"] == pytest.approx(0.2)
    assert response.retries[0]["status_code"] == 429


@wire_formats
async def test_streams_are_retried_before_the_first_event(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script([Reply(error=(529 if name == "anthropic" else 503, "Overloaded"), retry_after=0), "streamed"])
    provider = provider_for(server, name, llm_api)
    events = [event async for event in provider.stream(simple_request(name))]
    assert events[-1].response.text == "streamed"  # type: ignore[union-attr]
    assert events[-1].response.retries[0]["error"] == "llm_overloaded"  # type: ignore[union-attr]


@wire_formats
async def test_rate_limits_that_persist_raise_with_retry_after(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script([Reply(error=(429, "Rate limit reached for requests"), retry_after=0.01)] * 3)
    provider = provider_for(server, name, llm_api)
    with pytest.raises(LLMRateLimitError) as caught:
        await provider.generate(simple_request(name))
    error = caught.value
    assert error.retry_after == pytest.approx(0.01)
    assert error.details["attempts"] == 3
    assert "Rate limit reached for requests" in str(error)
    assert server.count() == 3
    assert pickle.loads(pickle.dumps(error)).retry_after == pytest.approx(0.01)


@wire_formats
async def test_authentication_errors_fail_at_once_with_the_provider_message(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script([Reply(error=(401, "invalid x-api-key"))])
    provider = provider_for(server, name, llm_api)
    with pytest.raises(LLMAuthenticationError) as caught:
        await provider.generate(simple_request(name))
    assert "invalid x-api-key" in str(caught.value)
    assert caught.value.status_code == 401
    assert caught.value.provider == name
    assert server.count() == 1


@wire_formats
async def test_bad_requests_fail_at_once_with_the_provider_message(
    server: FakeLLMServer, name: str, llm_api: str | None
) -> None:
    server.script([Reply(error=(400, "messages: roles must alternate"))])
    provider = provider_for(server, name, llm_api)
    with pytest.raises(LLMBadRequestError, match="roles must alternate"):
        async for _ in provider.stream(simple_request(name)):
            pass
    assert server.count() == 1


async def test_overloads_use_exponential_backoff_when_no_retry_after(server: FakeLLMServer) -> None:
    server.script([Reply(error=(529, "Overloaded")), Reply(error=(500, "Internal error")), "ok"])
    provider = provider_for(server, "anthropic", None)
    response = await provider.generate(simple_request("anthropic"))
    assert response.text == "ok"
    assert [r["status_code"] for r in response.retries] == [529, 500]
    assert [r["wait_seconds"] for r in response.retries] == [0.01, 0.02]


async def test_unreachable_servers_raise_connection_errors_after_retries() -> None:
    with FakeLLMServer() as server:
        url = server.anthropic_base_url
    provider = get_provider("anthropic", base_url=url, api_key=TEST_KEY, retry_policy=FAST_RETRIES)
    with pytest.raises(LLMConnectionError) as caught:
        await provider.generate(simple_request("anthropic"))
    assert caught.value.details["attempts"] == 3
    assert "anthropic" in str(caught.value)


@wire_formats
async def test_the_api_key_never_appears_in_errors(server: FakeLLMServer, name: str, llm_api: str | None) -> None:
    server.script([Reply(error=(401, f"Incorrect API key provided: {TEST_KEY}."))])
    provider = provider_for(server, name, llm_api)
    with pytest.raises(LLMAuthenticationError) as caught:
        await provider.generate(simple_request(name))
    assert TEST_KEY not in str(caught.value)
    assert TEST_KEY not in repr(caught.value.details)
    assert "[redacted]" in str(caught.value)
    assert TEST_KEY not in repr(server.requests[0].headers)
    assert TEST_KEY in str(server.requests[0].raw_headers())


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retry_policy_bounds() -> None:
    policy = RetryPolicy(initial_delay=1, max_delay=5, jitter=0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert policy.delay(1, 120) == 5  # Retry-After is capped too
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


async def test_overloaded_error_class_for_5xx(server: FakeLLMServer) -> None:
    server.script([Reply(error=(503, "unavailable"))] * 3)
    with pytest.raises(LLMOverloadedError):
        await provider_for(server, "openai", "chat").generate(simple_request("openai"))


async def test_every_attempt_takes_from_the_global_rate_limits(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polos import ratelimit

    taken: list[tuple[str, float]] = []

    async def acquire(name: str, amount: float = 1, *, timeout: float | None = None) -> None:
        taken.append((name, amount))

    monkeypatch.setattr(ratelimit, "acquire", acquire)
    server.script([Reply(error=(429, "slow"), retry_after=0), "ok"])
    await provider_for(server, "anthropic", None).generate(simple_request("anthropic", max_output_tokens=100))
    assert [name for name, _ in taken] == ["llm:anthropic:requests", "llm:anthropic:tokens"] * 2
    assert taken[0][1] == 1
    assert taken[1][1] > 100  # the prompt estimate plus max_output_tokens


async def test_a_configured_request_limit_paces_calls(server: FakeLLMServer) -> None:
    from polos import ratelimit

    previous = ratelimit.get_limiter()
    ratelimit.configure({"llm:openai:requests": {"rate": 20, "per": 1, "burst": 1}})
    try:
        server.script(["a", "b", "c"])
        provider = provider_for(server, "openai", "chat")
        started = time.monotonic()
        for _ in range(3):
            await provider.generate(simple_request("openai"))
        assert time.monotonic() - started >= 0.08  # two waits of ~1/20 s for the refill
    finally:
        ratelimit.bind(previous)


class _SDKError(Exception):
    def __init__(self, status_code: int | None, body: object) -> None:
        super().__init__("sdk error")
        self.status_code = status_code
        self.body = body


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, LLMOverloadedError),
        (200, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}, LLMRateLimitError),
        (200, {"type": "error", "error": {"type": "api_error", "message": "oops"}}, LLMOverloadedError),
        (400, {"error": {"message": "bad", "type": "invalid_request_error", "code": None}}, LLMBadRequestError),
        (403, {"error": {"message": "no", "type": "permission_error"}}, LLMAuthenticationError),
        (413, {"error": {"message": "too big"}}, LLMBadRequestError),
        (529, None, LLMOverloadedError),
    ],
)
def test_sdk_errors_map_by_status_and_error_type(status: int, body: object, expected: type) -> None:
    from polos.llm.providers._base import map_sdk_error

    error = map_sdk_error(_SDKError(status, body), provider="anthropic", secret=None)
    assert type(error) is expected
    assert error.provider == "anthropic"
