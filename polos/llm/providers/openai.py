"""The ``openai`` provider: the OpenAI Responses API (default) or Chat Completions.

Through the official ``openai`` SDK.  With a ``base_url`` it talks to any OpenAI-compatible server
(vLLM, Ollama, LM Studio), normally with ``llm_api="chat"`` since most of them speak only Chat
Completions.  Structured output uses the APIs' JSON-schema response formats; usage reports cached
prompt tokens as cache reads (OpenAI caches automatically, so there are no markers to add).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from ..errors import LLMConfigurationError
from ..types import LLMRequest, LLMResponse, LLMStreamEvent
from . import _openai_chat as chat
from . import _openai_responses as responses
from ._base import SDKProvider, check_tool_names

LLM_APIS = ("responses", "chat")


def is_openai_url(base_url: str) -> bool:
    """Whether ``base_url`` is OpenAI's own API (rather than a compatible server)."""
    host = urlsplit(base_url).hostname or ""
    return host == "openai.com" or host.endswith(".openai.com")


class OpenAIProvider(SDKProvider):
    """Calls the OpenAI Responses or Chat Completions API (or a compatible server).

    Args:
        base_url: the API base URL (``OPENAI_BASE_URL`` or the SDK default when ``None``).
        api_key: the API key (``OPENAI_API_KEY`` when ``None``).
        llm_api: ``"responses"`` (default) or ``"chat"``.
        name: the provider name used in errors, traces and rate-limit keys.
        official: whether the server is OpenAI's own API (``max_completion_tokens``,
            ``reasoning_effort``); inferred from the base URL when ``None``.
        retry_policy: how rate limits, overloads and connection errors are retried.
        timeout: seconds before one HTTP call times out.
    """

    api_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"

    def __init__(
        self, *, llm_api: str = "responses", name: str = "openai", official: bool | None = None, **options: Any
    ) -> None:
        if llm_api not in LLM_APIS:
            raise LLMConfigurationError(
                f"Unknown llm_api {llm_api!r} for the {name} provider; use 'responses' or 'chat'.",
                provider=name,
            )
        super().__init__(**options)
        self.name = name
        self.llm_api = llm_api
        self.official = official

    def __repr__(self) -> str:
        return f"<OpenAIProvider {self.name!r} llm_api={self.llm_api!r} base_url={self.resolved_base_url()!r}>"

    def _make_client(self, *, api_key: str, base_url: str | None) -> Any:
        try:
            import openai
        except ImportError:  # pragma: no cover - depends on the environment
            raise LLMConfigurationError(
                "The openai provider needs the openai package: pip install 'polos[openai]'.",
                provider=self.name,
            ) from None
        return openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout)

    def _is_sdk_error(self, error: BaseException) -> bool:
        import openai

        return isinstance(error, openai.OpenAIError)

    @property
    def _official(self) -> bool:
        # OpenAI's own API gets its newest field names; other servers often know only older ones.
        if self.official is not None:
            return self.official
        base_url = self.resolved_base_url()
        return base_url is None or is_openai_url(base_url)

    # Plain JSON bodies posted through the client's generic request method: see the note in
    # providers/anthropic.py (it skips the SDK's per-call transformation and response models).

    def _path_and_body(self, request: LLMRequest) -> tuple[str, dict[str, Any]]:
        if self._official:
            check_tool_names(request, self.name)
        if self.llm_api == "chat":
            return "/chat/completions", chat.build_params(request, official=self._official)
        return "/responses", responses.build_params(request)

    async def _generate_once(self, client: Any, request: LLMRequest) -> LLMResponse:
        path, body = self._path_and_body(request)
        data = await client.post(path, cast_to=object, body=body)
        if self.llm_api == "chat":
            return chat.parse_completion(data, request)
        return responses.parse_response(data, request)

    async def _open_stream(self, client: Any, request: LLMRequest) -> Any:
        import openai

        path, body = self._path_and_body(request)
        body["stream"] = True
        if self.llm_api == "chat":
            body["stream_options"] = {"include_usage": True}
        return await client.post(path, cast_to=object, body=body, stream=True, stream_cls=openai.AsyncStream[object])

    async def _read_stream(self, stream: Any, request: LLMRequest) -> AsyncIterator[LLMStreamEvent]:
        assembler: chat.ChatStreamAssembler | responses.ResponsesStreamAssembler
        if self.llm_api == "chat":
            assembler = chat.ChatStreamAssembler(request)
        else:
            assembler = responses.ResponsesStreamAssembler(request)
        async for event in stream:
            for neutral in assembler.feed(event):
                yield neutral
        for neutral in assembler.finish():
            yield neutral
