"""A web search tool: the Tavily search API (or any compatible endpoint), or your own search function.

    web_search = create_web_search_tool()                                   # TAVILY_API_KEY
    web_search = create_web_search_tool(WebSearchToolConfig(base_url="http://search.internal"))
    web_search = create_web_search_tool(WebSearchToolConfig(search=my_search))   # any provider

The search runs as a durable step, so a replayed agent sees the same results. Failures (no API key,
an HTTP error) come back to the model as an error result; the key never appears in messages.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import ConfigurationError, PolosError
from .tool import Tool, ToolApproval, tool_error_result

if TYPE_CHECKING:
    from ..context import WorkflowContext

DEFAULT_BASE_URL = "https://api.tavily.com"
API_KEY_ENV = "TAVILY_API_KEY"


class WebSearchResultItem(BaseModel):
    """One search hit."""

    title: str
    url: str
    content: str = Field(description="Snippet or summary of the page")
    score: float | None = Field(default=None, description="Relevance, 0-1")
    published_date: str | None = Field(default=None, description="ISO 8601 publication date")


class WebSearchResult(BaseModel):
    """What a search returns."""

    query: str
    results: list[WebSearchResultItem]
    answer: str | None = Field(default=None, description="A generated summary, when the provider gives one")


class WebSearchOptions(BaseModel):
    """Options handed to the search function for one call."""

    max_results: int
    topic: Literal["general", "news"]


WebSearchFunction = Callable[[str, WebSearchOptions], Awaitable[WebSearchResult]]
"""``async def search(query, options) -> WebSearchResult``: a custom search provider."""


class WebSearchError(PolosError):
    """A search failed (no API key, the provider answered with an error, or could not be reached)."""

    code = "web_search_error"


@dataclass
class WebSearchToolConfig:
    """Configuration of :func:`create_web_search_tool`.

    Attributes:
        api_key: Tavily API key (default: ``$TAVILY_API_KEY``, read at call time).
        search_depth: ``"basic"`` or ``"advanced"``.
        include_answer: ask for a generated answer.
        include_raw_content: ask for the pages' raw content.
        base_url: the API's base URL (any Tavily-compatible endpoint).
        search: a custom search function; replaces the HTTP API.
        max_results: default results per query.
        topic: default topic, ``"general"`` or ``"news"``.
        tool_id: the tool's name as the model sees it.
        approval: ``"always"`` to ask a human before each search.
        timeout: HTTP timeout in seconds.
    """

    api_key: str | None = None
    search_depth: Literal["basic", "advanced"] = "basic"
    include_answer: bool = True
    include_raw_content: bool = False
    base_url: str = DEFAULT_BASE_URL
    search: WebSearchFunction | None = None
    max_results: int = 5
    topic: Literal["general", "news"] = "general"
    tool_id: str = "web_search"
    approval: ToolApproval | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the key
        custom = self.search is not None
        return f"WebSearchToolConfig(base_url={self.base_url!r}, tool_id={self.tool_id!r}, custom={custom})"


class WebSearchInput(BaseModel):
    """The tool's input."""

    model_config = ConfigDict(populate_by_name=True)

    query: str = Field(description="The search query", min_length=1)
    max_results: int | None = Field(
        default=None, alias="maxResults", description="Maximum number of results", ge=1, le=50
    )
    topic: Literal["general", "news"] | None = Field(default=None, description="general web search or news")


def tavily_search(config: WebSearchToolConfig) -> WebSearchFunction:
    """A search function calling ``POST {base_url}/search`` (the Tavily API)."""

    async def search(query: str, options: WebSearchOptions) -> WebSearchResult:
        api_key = config.api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise WebSearchError(f"web search needs an API key: WebSearchToolConfig(api_key=...) or ${API_KEY_ENV}")
        body = {
            "query": query,
            "max_results": options.max_results,
            "topic": options.topic,
            "search_depth": config.search_depth,
            "include_answer": config.include_answer,
            "include_raw_content": config.include_raw_content,
        }
        url = f"{config.base_url.rstrip('/')}/search"
        try:
            async with httpx.AsyncClient(timeout=config.timeout) as client:
                response = await client.post(url, json=body, headers={"Authorization": f"Bearer {api_key}"})
        except httpx.HTTPError as exc:
            raise WebSearchError(f"web search could not reach {url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise WebSearchError(f"web search failed: HTTP {response.status_code}: {_detail(response)}")
        try:
            data = response.json()
            return WebSearchResult(
                query=data.get("query") or query,
                answer=data.get("answer"),
                results=[
                    WebSearchResultItem(
                        title=item.get("title") or "",
                        url=item["url"],
                        content=item.get("content") or "",
                        score=item.get("score"),
                        published_date=item.get("published_date"),
                    )
                    for item in data.get("results") or []
                ],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebSearchError(f"web search returned an unexpected response: {exc}") from None

    return search


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict):
        detail = detail.get("error")
    text = detail if isinstance(detail, str) else response.text
    return text[:500]


def create_web_search_tool(config: WebSearchToolConfig | None = None) -> Tool:
    """Make a ``web_search`` tool for agents.

    Args:
        config: provider, defaults and tool id; default: the Tavily API with ``$TAVILY_API_KEY``.

    Returns:
        A :class:`~polos.tools.Tool` taking ``{query, maxResults?, topic?}`` and returning
        ``{query, answer, results: [{title, url, content, score, publishedDate}]}``.
    """
    config = config or WebSearchToolConfig()
    if config.search is not None and not callable(config.search):
        raise ConfigurationError("WebSearchToolConfig.search must be an async function (query, options)")
    if not 1 <= config.max_results <= 50:
        raise ConfigurationError(f"WebSearchToolConfig.max_results must be 1-50, got {config.max_results}")
    search = config.search or tavily_search(config)

    async def web_search(ctx: WorkflowContext, input: WebSearchInput) -> dict[str, Any]:
        options = WebSearchOptions(
            max_results=input.max_results or config.max_results, topic=input.topic or config.topic
        )

        async def run() -> dict[str, Any]:
            try:
                result = await search(input.query, options)
            except WebSearchError as exc:
                return tool_error_result(str(exc), code=exc.code)
            if not isinstance(result, WebSearchResult):
                result = WebSearchResult.model_validate(result)
            return {
                "query": result.query,
                "answer": result.answer,
                "results": [
                    {
                        "title": r.title,
                        "url": r.url,
                        "content": r.content,
                        "score": r.score,
                        "publishedDate": r.published_date,
                    }
                    for r in result.results
                ],
            }

        return dict(await ctx.step.run("web_search", run, max_retries=1))

    return Tool(
        id=config.tool_id,
        description="Search the web for current information. Returns results with titles, URLs and snippets.",
        func=web_search,
        input_model=WebSearchInput,
        approval=config.approval,
    )


__all__ = [
    "WebSearchError",
    "WebSearchFunction",
    "WebSearchOptions",
    "WebSearchResult",
    "WebSearchResultItem",
    "WebSearchToolConfig",
    "create_web_search_tool",
    "tavily_search",
]
