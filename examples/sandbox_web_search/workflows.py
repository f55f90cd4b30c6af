"""A research agent with ``create_web_search_tool()``.

With ``TAVILY_API_KEY`` set the tool calls the Tavily API (or any compatible endpoint given as
``base_url``); without it, this example plugs in a small offline search function. The model is
scripted so the example runs offline.
"""

from __future__ import annotations

import os

from polos import (
    Agent,
    WebSearchOptions,
    WebSearchResult,
    WebSearchResultItem,
    WebSearchToolConfig,
    create_web_search_tool,
)
from polos.testing import Reply

from ..sandbox_support import scripted_model

DOCS = [
    ("Polos for Django", "https://example.org/polos", "Durable agents and workflows on Django and Celery."),
    ("Sandboxes", "https://example.org/sandbox", "Agents run commands in Docker or bubblewrap sandboxes."),
]


async def offline_search(query: str, options: WebSearchOptions) -> WebSearchResult:
    words = query.lower().split()
    hits = [d for d in DOCS if any(w in (d[0] + d[2]).lower() for w in words)]
    items = [WebSearchResultItem(title=t, url=u, content=c, score=0.9) for t, u, c in hits[: options.max_results]]
    return WebSearchResult(query=query, results=items)


sandbox_web_search_tool = create_web_search_tool(
    WebSearchToolConfig(
        tool_id="sandbox_web_search_tool",
        max_results=3,
        search=None if os.environ.get("TAVILY_API_KEY") else offline_search,
    )
)

model = scripted_model(
    {
        "safely": [
            Reply(tool_calls=[("sandbox_web_search_tool", {"query": "agents sandboxes", "maxResults": 2})]),
            "Polos agents run commands in Docker or bubblewrap sandboxes (https://example.org/sandbox).",
        ]
    }
)

sandbox_web_search_researcher = Agent(
    id="sandbox_web_search_researcher",
    provider=model,
    model="claude-sonnet-4-5",
    system_prompt="Answer with sources from web_search.",
    tools=[sandbox_web_search_tool],
)
