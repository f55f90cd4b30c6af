"""Errors raised by LLM providers.

Each class has a stable ``code``.  Providers retry :class:`LLMRateLimitError`,
:class:`LLMOverloadedError` and :class:`LLMConnectionError` themselves (with backoff honouring
``Retry-After``) before raising them; authentication and bad-request errors are raised at once with
the provider's own message.  Messages never contain API keys.  All of them pickle (they cross
Celery).
"""

from __future__ import annotations

from typing import Any

from polos.exceptions import ConfigurationError, PolosError


class LLMError(PolosError):
    """Base class of every error raised by an LLM provider.

    Attributes:
        provider: the registered provider name (``"anthropic"``, ``"openai"``...), when known.
        status_code: the HTTP status of the failed call, when there was one.
    """

    code = "llm_error"

    def __init__(
        self,
        message: str = "",
        *,
        provider: str | None = None,
        status_code: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, provider=provider, status_code=status_code, **details)

    @property
    def provider(self) -> str | None:
        return self.details.get("provider")

    @property
    def status_code(self) -> int | None:
        return self.details.get("status_code")

    @property
    def retryable(self) -> bool:
        """Whether trying the same request again later can succeed."""
        return False


class LLMConfigurationError(LLMError, ConfigurationError):
    """The provider cannot be used as configured: unknown name, missing API key, bad option."""

    code = "llm_configuration_error"


class LLMAuthenticationError(LLMError):
    """The provider rejected the API key (HTTP 401/403)."""

    code = "llm_authentication_error"


class LLMBadRequestError(LLMError):
    """The provider rejected the request itself (HTTP 400/404/413/422); retrying cannot help."""

    code = "llm_bad_request"


class LLMRateLimitError(LLMError):
    """The provider's rate limit was hit (HTTP 429), and stayed hit through every retry.

    Attributes:
        retry_after: the seconds the provider asked to wait, when it said.
    """

    code = "llm_rate_limited"

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        status_code: int | None = 429,
        **details: Any,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status_code=status_code,
            retry_after=retry_after,
            **details,
        )

    @property
    def retry_after(self) -> float | None:
        return self.details.get("retry_after")

    @property
    def retryable(self) -> bool:
        return True


class LLMOverloadedError(LLMError):
    """The provider is overloaded or failing (HTTP 5xx, Anthropic 529), through every retry."""

    code = "llm_overloaded"

    @property
    def retry_after(self) -> float | None:
        return self.details.get("retry_after")

    @property
    def retryable(self) -> bool:
        return True


class LLMConnectionError(LLMError):
    """The provider could not be reached, or the call timed out, through every retry."""

    code = "llm_connection_error"

    @property
    def retryable(self) -> bool:
        return True


__all__ = [
    "LLMAuthenticationError",
    "LLMBadRequestError",
    "LLMConfigurationError",
    "LLMConnectionError",
    "LLMError",
    "LLMOverloadedError",
    "LLMRateLimitError",
]
