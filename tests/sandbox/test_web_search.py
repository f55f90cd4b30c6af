"""create_web_search_tool against a local Tavily-compatible stub server, and with a custom function."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from polos import WebSearchOptions, WebSearchResult, WebSearchResultItem, WebSearchToolConfig, create_web_search_tool
from polos.exceptions import ConfigurationError
from polos.testing import LocalRuntime
from polos.tools.tool import is_tool_error_result
from polos.workflow import unregister

from .helpers import run_tool

pytestmark = pytest.mark.once


class StubSearch:
    """A Tavily-like ``POST /search`` that records requests; ``status`` forces an error answer."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 200
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((dict(self.headers), body))
                if self.path != "/search":
                    self._send(404, {"detail": "not found"})
                elif stub.status != 200:
                    self._send(stub.status, {"detail": {"error": "Unauthorized: missing or invalid API key."}})
                else:
                    results = [
                        {"title": f"Result {i}", "url": f"https://example.org/{i}", "content": f"snippet {i}",
                         "score": 0.9 - i / 10, "published_date": f"2026-01-0{i + 1}"}
                        for i in range(body["max_results"])
                    ]  # fmt: skip
                    self._send(200, {"query": body["query"], "answer": "An answer.", "results": results})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubSearch]:
    server = StubSearch()
    yield server
    server.close()
    unregister("web_search")
    unregister("news_search")


async def test_search_through_a_tavily_compatible_api(stub: StubSearch) -> None:
    web_search = create_web_search_tool(WebSearchToolConfig(api_key="tvly-secret-key", base_url=stub.url + "/"))
    assert web_search.id == "web_search"
    assert set(web_search.input_schema["properties"]) == {"query", "maxResults", "topic"}
    run = await run_tool(LocalRuntime(), web_search, {"query": "polos durable agents", "maxResults": 2})
    assert run.result["query"] == "polos durable agents" and run.result["answer"] == "An answer."
    assert [r["url"] for r in run.result["results"]] == ["https://example.org/0", "https://example.org/1"]
    assert run.result["results"][0]["publishedDate"] == "2026-01-01"
    [(headers, body)] = stub.requests
    assert headers["Authorization"] == "Bearer tvly-secret-key"
    assert body["max_results"] == 2 and body["topic"] == "general" and body["search_depth"] == "basic"


async def test_errors_come_back_to_the_model_without_the_key(stub: StubSearch, monkeypatch: pytest.MonkeyPatch) -> None:
    stub.status = 401
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-env-key")
    web_search = create_web_search_tool(WebSearchToolConfig(base_url=stub.url))
    run = await run_tool(LocalRuntime(), web_search, {"query": "x"})
    assert is_tool_error_result(run.result)
    assert "401" in run.result["_polos_tool_error"] and "Unauthorized" in run.result["_polos_tool_error"]
    assert "tvly-env-key" not in json.dumps(run.result) and "tvly-env-key" not in repr(
        WebSearchToolConfig(api_key="tvly-env-key")
    )
    monkeypatch.delenv("TAVILY_API_KEY")
    missing = await run_tool(LocalRuntime(), web_search, {"query": "x"})
    assert "TAVILY_API_KEY" in missing.result["_polos_tool_error"]
    unreachable = create_web_search_tool(WebSearchToolConfig(api_key="k", base_url="http://127.0.0.1:9"))
    down = await run_tool(LocalRuntime(), unreachable, {"query": "x"})
    assert "could not reach" in down.result["_polos_tool_error"]


async def test_custom_search_function(stub: StubSearch) -> None:
    seen: list[tuple[str, WebSearchOptions]] = []

    async def search(query: str, options: WebSearchOptions) -> WebSearchResult:
        seen.append((query, options))
        return WebSearchResult(query=query, results=[WebSearchResultItem(title="T", url="https://u", content="c")])

    news = create_web_search_tool(WebSearchToolConfig(search=search, tool_id="news_search", topic="news"))
    run = await run_tool(LocalRuntime(), news, {"query": "today"})
    assert run.result["results"] == [
        {"title": "T", "url": "https://u", "content": "c", "score": None, "publishedDate": None}
    ]
    assert seen == [("today", WebSearchOptions(max_results=5, topic="news"))]
    with pytest.raises(ConfigurationError, match="max_results"):
        create_web_search_tool(WebSearchToolConfig(max_results=0))
