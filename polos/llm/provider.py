"""The provider interface and the provider registry.

A provider turns an :class:`~polos.llm.types.LLMRequest` into an
:class:`~polos.llm.types.LLMResponse` by calling one vendor's API.  Providers are created by name
through :func:`get_provider`; :func:`register_provider` adds new ones.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from .errors import LLMConfigurationError
from .types import LLMRequest, LLMResponse, LLMStreamEvent


class LLMProvider(abc.ABC):
    """One way of calling a model.

    Subclasses implement :meth:`generate` and :meth:`stream`.  Both raise the errors of
    :mod:`polos.llm.errors`; retryable failures (rate limits, overloads, connection errors) are
    retried by the provider itself before they are raised.

    Attributes:
        name: the name the provider is registered under (used for rate-limit keys and traces).
    """

    name: str = "provider"

    @abc.abstractmethod
    async def generate(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` and return the model's complete reply."""

    @abc.abstractmethod
    def stream(self, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        """Send ``request`` and yield the reply as it arrives.

        An async generator: text and reasoning deltas, a ``ToolCallStarted`` per complete tool call,
        and last a ``StreamDone`` holding the same response :meth:`generate` would have returned.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release network resources (connection pools).  Safe to call more than once."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


ProviderFactory = Callable[..., LLMProvider]
"""Called as ``factory(base_url=..., api_key=..., llm_api=...)``; returns a provider."""

_registry: dict[str, ProviderFactory] = {}
_lock = threading.Lock()


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make a provider available to :func:`get_provider` (and to ``Agent(provider=name)``).

    Args:
        name: the provider name; registering an existing name replaces its factory.
        factory: a callable accepting the keyword arguments ``base_url``, ``api_key`` and
            ``llm_api`` (each possibly ``None``) and returning an :class:`LLMProvider`.
    """
    if not name or not isinstance(name, str):
        raise LLMConfigurationError("A provider name must be a non-empty string.")
    if not callable(factory):
        raise LLMConfigurationError(f"The factory registered for provider {name!r} is not callable.")
    with _lock:
        _registry[name] = factory


def registered_providers() -> list[str]:
    """The names :func:`get_provider` accepts, sorted."""
    _ensure_builtins()
    return sorted(_registry)


def get_provider(
    name: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    llm_api: str | None = None,
    **options: Any,
) -> LLMProvider:
    """Create the provider registered as ``name``.

    No network call is made and no API key is required here: a missing key is reported when the
    first request is sent, so agents can be defined in modules imported without keys.

    Args:
        name: ``"anthropic"``, ``"openai"``, an OpenAI-compatible server name (``"ollama"``,
            ``"vllm"``, ``"lmstudio"``, ``"openai-compatible"``) or any registered name.
        base_url: the API's base URL, overriding the provider's default (and its env var).
        api_key: the API key, overriding the provider's env var.
        llm_api: the API flavour, e.g. ``"responses"`` (default) or ``"chat"`` for OpenAI.
        **options: passed on to the factory; the built-in providers accept ``retry_policy``
            (a :class:`~polos.llm.retry.RetryPolicy`) and ``timeout`` (seconds per HTTP call).

    Raises:
        LLMConfigurationError: no provider is registered as ``name``, or an option is invalid.
    """
    _ensure_builtins()
    factory = _registry.get(name)
    if factory is None:
        known = ", ".join(sorted(_registry))
        raise LLMConfigurationError(
            f"Unknown LLM provider {name!r}. Registered providers: {known}. "
            "Register others with polos.llm.register_provider(name, factory).",
            provider=name,
        )
    return factory(base_url=base_url, api_key=api_key, llm_api=llm_api, **options)


_builtins_loaded = False


def _ensure_builtins() -> None:
    # Imported lazily: the SDK modules are only needed once a built-in provider is used.
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _lock:
        if _builtins_loaded:
            return
        from . import _builtin

        for builtin_name, factory in _builtin.FACTORIES.items():
            _registry.setdefault(builtin_name, factory)
        _builtins_loaded = True
