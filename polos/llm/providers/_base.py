"""What the SDK-backed providers share: API keys, clients, errors, retries, rate limits, tracing."""

from __future__ import annotations

import abc
import asyncio
import email.utils
import os
import re
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from polos.tracing import span

from ..errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConfigurationError,
    LLMConnectionError,
    LLMError,
    LLMOverloadedError,
    LLMRateLimitError,
)
from ..pricing import cost_usd
from ..provider import LLMProvider
from ..retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retries
from ..types import LLMRequest, LLMResponse, LLMStreamEvent, StreamDone, TextPart, ToolResultPart

DEFAULT_TIMEOUT = 600.0

# One SDK client per (event loop, provider class, base URL, key): an httpx connection pool cannot be
# shared between event loops, and a new client per call would pay a TLS handshake every time.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


class SDKProvider(LLMProvider):
    """Base of the providers that call a vendor's official SDK.

    Args:
        base_url: the API base URL; the SDK's env var or default when ``None``.
        api_key: the API key; read from ``api_key_env`` at the first call when ``None``.
        placeholder_key: the key to send when none is configured (local servers that ignore
            keys); ``None`` makes a missing key an error.
        retry_policy: how rate limits, overloads and connection errors are retried.
        timeout: seconds before one HTTP call times out.
    """

    api_key_env: str = ""
    base_url_env: str = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        placeholder_key: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._placeholder_key = placeholder_key
        self.retry_policy = retry_policy or DEFAULT_RETRY_POLICY
        self.timeout = timeout

    def __repr__(self) -> str:  # never shows the key
        return f"<{type(self).__name__} {self.name!r} base_url={self.resolved_base_url()!r}>"

    # --- configuration ---------------------------------------------------------------------

    def resolved_base_url(self) -> str | None:
        """The base URL calls go to (``None`` means the SDK's default)."""
        return self.base_url or os.environ.get(self.base_url_env) or None

    def resolved_api_key(self) -> str:
        """The API key, or a :class:`LLMConfigurationError` naming the env var to set."""
        key = self._api_key or os.environ.get(self.api_key_env) or self._placeholder_key
        if not key:
            raise LLMConfigurationError(
                f"No API key for the {self.name} provider: set the {self.api_key_env} environment "
                f"variable (or pass api_key= to polos.llm.get_provider).",
                provider=self.name,
                env_var=self.api_key_env,
            )
        return key

    def client(self) -> Any:
        """The SDK client for the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        key = self.resolved_api_key()
        base_url = self.resolved_base_url()
        per_loop = _clients.setdefault(loop, {})
        cache_key = (type(self), base_url, key, self.timeout)
        client = per_loop.get(cache_key)
        if client is None:
            client = per_loop[cache_key] = self._make_client(api_key=key, base_url=base_url)
        return client

    async def aclose(self) -> None:
        """Close this provider's SDK clients of the running event loop (they reopen on next use)."""
        per_loop = _clients.get(asyncio.get_running_loop(), {})
        for cache_key in [k for k in per_loop if k[0] is type(self) and k[1] == self.resolved_base_url()]:
            await per_loop.pop(cache_key).close()

    # --- what each SDK provides ------------------------------------------------------------

    @abc.abstractmethod
    def _make_client(self, *, api_key: str, base_url: str | None) -> Any:
        """A new async SDK client (with ``max_retries=0``)."""

    @abc.abstractmethod
    async def _generate_once(self, client: Any, request: LLMRequest) -> LLMResponse:
        """One non-streaming call, SDK errors unmapped."""

    @abc.abstractmethod
    async def _open_stream(self, client: Any, request: LLMRequest) -> Any:
        """Start a streaming call (raises HTTP errors here, before any event), SDK errors unmapped."""

    @abc.abstractmethod
    def _read_stream(self, stream: Any, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        """Turn an open SDK stream into neutral events ending with ``StreamDone``."""

    @abc.abstractmethod
    def _is_sdk_error(self, error: BaseException) -> bool:
        """Whether ``error`` comes from the SDK (and should be mapped)."""

    # --- the calls -------------------------------------------------------------------------

    async def generate(self, request: LLMRequest) -> LLMResponse:
        retries: list[dict[str, Any]] = []
        with span("llm.generate", self._span_attributes(request)) as current:
            client = self.client()

            async def once() -> LLMResponse:
                await self._acquire_rate_limits(request)  # every attempt is a request
                try:
                    return await self._generate_once(client, request)
                except Exception as error:
                    raise self._mapped(error) from None

            response = await call_with_retries(
                once,
                policy=self.retry_policy,
                provider=self.name,
                on_retry=lambda r: _record_retry(current, retries, r),
            )
            return self._finish(response, retries, current)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        retries: list[dict[str, Any]] = []
        with span("llm.stream", self._span_attributes(request)) as current:
            client = self.client()

            async def open_stream() -> Any:
                await self._acquire_rate_limits(request)
                try:
                    return await self._open_stream(client, request)
                except Exception as error:
                    raise self._mapped(error) from None

            sdk_stream = await call_with_retries(
                open_stream,
                policy=self.retry_policy,
                provider=self.name,
                on_retry=lambda r: _record_retry(current, retries, r),
            )
            events = self._read_stream(sdk_stream, request)
            try:
                async for event in events:
                    if isinstance(event, StreamDone):
                        event = StreamDone(response=self._finish(event.response, retries, current))
                    yield event
            except LLMError:
                raise
            except Exception as error:
                if self._is_sdk_error(error):
                    raise self._mapped(error) from None
                raise
            finally:
                close = getattr(sdk_stream, "close", None)
                if close is not None:
                    await close()

    def _finish(self, response: LLMResponse, retries: list[dict[str, Any]], current: Any) -> LLMResponse:
        updates: dict[str, Any] = {}
        if response.cost_usd is None:
            updates["cost_usd"] = cost_usd(response.model, response.usage)
        if retries:
            updates["retries"] = list(retries)
        if current is not None:
            current.set_attribute("llm.input_tokens", response.usage.input_tokens)
            current.set_attribute("llm.output_tokens", response.usage.output_tokens)
            current.set_attribute("llm.cache_read_tokens", response.usage.cache_read_tokens)
            current.set_attribute("llm.cache_creation_tokens", response.usage.cache_creation_tokens)
            current.set_attribute("llm.stop_reason", response.stop_reason)
        return response.model_copy(update=updates) if updates else response

    def _span_attributes(self, request: LLMRequest) -> dict[str, Any]:
        return {
            "llm.provider": self.name,
            "llm.model": request.model,
            "llm.messages": len(request.messages),
            "llm.tools": len(request.tools),
        }

    async def _acquire_rate_limits(self, request: LLMRequest) -> None:
        acquire = _ratelimit_acquire()
        if acquire is None:
            return
        await acquire(f"llm:{self.name}:requests", 1)
        await acquire(f"llm:{self.name}:tokens", estimate_request_tokens(request))

    # --- errors ----------------------------------------------------------------------------

    def _mapped(self, error: BaseException) -> LLMError:
        if isinstance(error, LLMError):
            return error
        if not self._is_sdk_error(error):
            if isinstance(error, TimeoutError | ConnectionError | OSError):
                return LLMConnectionError(f"Could not reach the {self.name} API: {error}", provider=self.name)
            raise error
        return map_sdk_error(error, provider=self.name, secret=self._api_key_or_none())

    def _api_key_or_none(self) -> str | None:
        return self._api_key or os.environ.get(self.api_key_env) or None


def _record_retry(current: Any, retries: list[dict[str, Any]], record: dict[str, Any]) -> None:
    retries.append(record)
    if current is not None:
        current.add_event("llm.retry", {k: v for k, v in record.items() if v is not None})


def _ratelimit_acquire() -> Any:
    # polos.ratelimit comes with flow control; looked up on each call so tests can patch it.
    try:
        from polos import ratelimit
    except ImportError:  # pragma: no cover - an SDK build without flow control
        return None
    return getattr(ratelimit, "acquire", None)


_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def check_tool_names(request: LLMRequest, provider: str) -> None:
    """Refuse tool names the Anthropic and OpenAI APIs reject, before any call is made.

    Raises:
        LLMConfigurationError: a name is not 1-64 letters, digits, ``_`` or ``-``.
    """
    for tool in request.tools:
        if not _TOOL_NAME.match(tool.name):
            raise LLMConfigurationError(
                f"Tool name {tool.name!r} is not accepted by {provider}: use 1 to 64 letters, digits, "
                "'_' or '-' (rename the tool, e.g. @tool(id='my_tool')).",
                provider=provider,
            )


_RESERVED = frozenset({"model", "messages", "input", "stream", "system", "instructions", "tools"})


def provider_kwargs(request: LLMRequest, provider: str) -> dict[str, Any]:
    """Extra body fields from ``request.metadata["provider_kwargs"]`` (e.g. ``top_p``), sent as-is.

    Raises:
        LLMConfigurationError: they name a field the request itself sets.
    """
    extra = request.metadata.get("provider_kwargs") or {}
    if not isinstance(extra, dict):
        raise LLMConfigurationError("provider_kwargs must be a dict of API fields.", provider=provider)
    clash = sorted(_RESERVED & set(extra))
    if clash:
        raise LLMConfigurationError(
            f"provider_kwargs cannot set {', '.join(clash)}: use the agent's own options for them.",
            provider=provider,
        )
    return dict(extra)


def estimate_request_tokens(request: LLMRequest) -> int:
    """A cheap upper-bound-ish token estimate of a request, for token rate limits."""
    chars = len(request.system or "")
    for message in request.messages:
        for part in message.content:
            if isinstance(part, TextPart):
                chars += len(part.text)
            elif isinstance(part, ToolResultPart):
                chars += len(part.content)
            else:
                chars += len(str(getattr(part, "input", getattr(part, "text", ""))))
    for tool in request.tools:
        chars += len(tool.description) + len(str(tool.input_schema))
    return max(1, chars // 4 + (request.max_output_tokens or 0))


# --- SDK error mapping (both SDKs share the same error shapes) -------------------------------


def map_sdk_error(error: BaseException, *, provider: str, secret: str | None) -> LLMError:
    """The :mod:`polos.llm.errors` error for an ``anthropic``/``openai`` SDK exception."""
    status: int | None = getattr(error, "status_code", None)
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    body = getattr(error, "body", None)
    message, error_type = _provider_message(error, body)
    message = redact(message, secret)
    retry_after = parse_retry_after(headers)
    name = type(error).__name__
    if status is None:
        if "Timeout" in name or "Connection" in name:
            return LLMConnectionError(f"Could not reach the {provider} API: {message}", provider=provider)
        if error_type == "overloaded_error":
            return LLMOverloadedError(f"{provider} is overloaded: {message}", provider=provider)
        if error_type == "rate_limit_error":
            return LLMRateLimitError(f"{provider} rate limit: {message}", provider=provider)
        return LLMError(f"{provider} API error: {message}", provider=provider)
    described = f"{provider} API error {status}" + (f" ({error_type})" if error_type else "")
    if status < 400:
        # An error event inside a stream that had started fine (HTTP 200): classify by its type.
        described = f"{provider} stream error" + (f" ({error_type})" if error_type else "")
    if status == 429 or error_type in _RATE_LIMIT_TYPES:
        return LLMRateLimitError(
            f"{described}: {message}", retry_after=retry_after, provider=provider, status_code=status
        )
    if status in (401, 403) or error_type in _AUTH_TYPES:
        return LLMAuthenticationError(
            f"{described}: {message} (check the API key configured for {provider})",
            provider=provider,
            status_code=status,
        )
    if status in (408, 409) or status >= 500 or error_type in _SERVER_TYPES or status < 400:
        return LLMOverloadedError(
            f"{described}: {message}",
            provider=provider,
            status_code=status,
            retry_after=retry_after,
        )
    return LLMBadRequestError(f"{described}: {message}", provider=provider, status_code=status)


_RATE_LIMIT_TYPES = frozenset({"rate_limit_error", "rate_limit_exceeded"})
_AUTH_TYPES = frozenset({"authentication_error", "permission_error", "invalid_api_key"})
_SERVER_TYPES = frozenset({"overloaded_error", "api_error", "server_error"})


def _provider_message(error: BaseException, body: Any) -> tuple[str, str | None]:
    if isinstance(body, dict):
        nested = body.get("error")
        inner: dict[str, Any] = nested if isinstance(nested, dict) else body
        message = inner.get("message")
        error_type = inner.get("type") or inner.get("code")
        if isinstance(message, str) and message:
            return message, error_type if isinstance(error_type, str) else None
    return str(getattr(error, "message", None) or error), None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, parsed.timestamp() - time.time())


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (an API key) replaced by a redacted form."""
    if secret and len(secret) >= 8 and secret in text:
        return text.replace(secret, f"{secret[:3]}...[redacted]")
    return text
