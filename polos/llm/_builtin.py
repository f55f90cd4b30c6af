"""Factories of the built-in providers (imported lazily by the registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import LLMConfigurationError
from .provider import LLMProvider

PLACEHOLDER_KEY = "not-needed"

# Local OpenAI-compatible servers: their usual base URL; they accept any API key.
COMPATIBLE_SERVERS = {
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "lmstudio": "http://localhost:1234/v1",
}


def anthropic_factory(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    llm_api: str | None = None,
    **options: Any,
) -> LLMProvider:
    if llm_api not in (None, "messages"):
        raise LLMConfigurationError(
            f"The anthropic provider has no llm_api {llm_api!r}; it only speaks 'messages'.",
            provider="anthropic",
        )
    from .providers.anthropic import AnthropicProvider

    return AnthropicProvider(base_url=base_url, api_key=api_key, **options)


def openai_factory(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    llm_api: str | None = None,
    **options: Any,
) -> LLMProvider:
    from .providers.openai import OpenAIProvider, is_openai_url

    if base_url and not is_openai_url(base_url):
        # Another server speaking the OpenAI API: most only have Chat Completions and ignore keys.
        options.setdefault("placeholder_key", PLACEHOLDER_KEY)
        return OpenAIProvider(base_url=base_url, api_key=api_key, llm_api=llm_api or "chat", **options)
    return OpenAIProvider(base_url=base_url, api_key=api_key, llm_api=llm_api or "responses", **options)


def openai_compatible_factory(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    llm_api: str | None = None,
    **options: Any,
) -> LLMProvider:
    if not base_url:
        raise LLMConfigurationError(
            "The openai-compatible provider needs a base URL: pass provider_base_url "
            "(e.g. 'http://localhost:8000/v1').",
            provider="openai-compatible",
        )
    from .providers.openai import OpenAIProvider

    return OpenAIProvider(
        base_url=base_url,
        api_key=api_key,
        placeholder_key=PLACEHOLDER_KEY,
        llm_api=llm_api or "chat",
        name="openai-compatible",
        **options,
    )


def _local_server_factory(name: str, default_url: str) -> Callable[..., LLMProvider]:
    def factory(
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        llm_api: str | None = None,
        **options: Any,
    ) -> LLMProvider:
        from .providers.openai import OpenAIProvider

        return OpenAIProvider(
            base_url=base_url or default_url,
            api_key=api_key,
            placeholder_key=PLACEHOLDER_KEY,
            llm_api=llm_api or "chat",
            name=name,
            **options,
        )

    return factory


FACTORIES: dict[str, Callable[..., LLMProvider]] = {
    "anthropic": anthropic_factory,
    "openai": openai_factory,
    "openai-compatible": openai_compatible_factory,
    **{name: _local_server_factory(name, url) for name, url in COMPATIBLE_SERVERS.items()},
}
