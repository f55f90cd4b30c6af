"""A local fake LLM HTTP server for tests (``polos.testing.FakeLLMServer``).

It speaks the Anthropic Messages API and the OpenAI Chat Completions and Responses APIs (JSON and
server-sent-event streaming, tool calls, thinking, cache usage fields), so tests drive the real
``anthropic``/``openai`` SDK clients over HTTP.  Replies come from a script of
:class:`~polos.testing.Reply` objects (or a function of the request) and are served in the order
requests arrive, whichever process sends them::

    with FakeLLMServer([Reply(tool_calls=[("add", {"a": 1, "b": 2})]), "The sum is 3."]) as server:
        client = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test")
        ...
        assert server.count("/v1/messages") == 2
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from polos.llm.types import LLMUsage

from . import _fake_llm_wire as wire
from .scripted import Reply, as_reply, estimate_tokens

FakeScript = Sequence[Reply | str] | Callable[["RecordedRequest"], Reply | str]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})
_APIS = {
    "/messages": "anthropic",
    "/chat/completions": "openai-chat",
    "/responses": "openai-responses",
}
FAKE_API_KEY = "fake-llm-test-key"


def _redact(name: str, value: str) -> str:
    if name.lower() not in _SECRET_HEADERS:
        return value
    return value[:10] + "...[redacted]" if len(value) > 16 else "[redacted]"


@dataclass
class RecordedRequest:
    """One request the fake server received.

    Attributes:
        index: the request's position (0-based) among all requests received.
        method: the HTTP method.
        path: the URL path (without query string), e.g. ``/v1/messages``.
        api: ``"anthropic"``, ``"openai-chat"``, ``"openai-responses"`` or ``"unknown"``.
        body: the parsed JSON body.
        headers: the request headers, API keys redacted.
    """

    index: int
    method: str
    path: str
    api: str
    body: dict[str, Any]
    headers: dict[str, str]
    _raw_headers: dict[str, str] = field(default_factory=dict, repr=False)

    def raw_headers(self) -> dict[str, str]:
        """The headers as received, API keys included (for tests that check authentication)."""
        return dict(self._raw_headers)

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def system(self) -> str:
        """The system prompt, whatever the wire format."""
        if self.api == "anthropic":
            system = self.body.get("system") or ""
            if isinstance(system, list):
                return "".join(block.get("text", "") for block in system)
            return str(system)
        if self.api == "openai-responses":
            return str(self.body.get("instructions") or "")
        return "".join(
            str(m.get("content") or "")
            for m in self.body.get("messages") or []
            if m.get("role") in ("system", "developer")
        )

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered to the model."""
        names = []
        for tool in self.body.get("tools") or []:
            names.append(tool.get("name") or (tool.get("function") or {}).get("name") or "")
        return names

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (empty when it holds only tool results)."""
        if self.api == "openai-responses":
            items = self.body.get("input")
            if isinstance(items, str):
                return items
            for item in reversed(items or []):
                if item.get("type") == "function_call_output":
                    return ""
                if item.get("role") == "user":
                    return _text_of(item.get("content"))
            return ""
        for message in reversed(self.body.get("messages") or []):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
            if message.get("role") == "tool":
                return ""
        return ""

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """Tool results sent back to the model: ``{"tool_use_id", "content", "is_error"}``."""
        results: list[dict[str, Any]] = []
        if self.api == "anthropic":
            for message in self.body.get("messages") or []:
                for block in message.get("content") or []:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        results.append(
                            {
                                "tool_use_id": block.get("tool_use_id"),
                                "content": _text_of(block.get("content")),
                                "is_error": bool(block.get("is_error")),
                            }
                        )
        elif self.api == "openai-chat":
            for message in self.body.get("messages") or []:
                if message.get("role") == "tool":
                    results.append(
                        {
                            "tool_use_id": message.get("tool_call_id"),
                            "content": _text_of(message.get("content")),
                            "is_error": False,
                        }
                    )
        else:
            for item in self.body.get("input") or []:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    results.append(
                        {
                            "tool_use_id": item.get("call_id"),
                            "content": _text_of(item.get("output")),
                            "is_error": False,
                        }
                    )
        return results

    @property
    def cache_markers(self) -> int:
        """How many ``cache_control`` markers the body carries (Anthropic prompt caching)."""
        return json.dumps(self.body).count('"cache_control"')


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


class FakeLLMServer:
    """A real HTTP server on a free loopback port, answering LLM API calls from a script.

    Args:
        replies: the script: a list of replies (``str`` for text-only) served in order of arrival,
            or a function of the :class:`RecordedRequest` returning the reply.
        host: the interface to listen on.
        port: the port; ``0`` picks a free one.
        latency: seconds to wait before each answer (on top of any ``Reply.delay``).
        chunk_delay: seconds between streamed events.
        simulate_cache: report prompt-cache usage as the APIs would.  Anthropic: the prefix up to
            the last ``cache_control`` marker is written to the cache, and a later request starting
            with a cached prefix reads it.  OpenAI: the longest prefix seen before is read (it caches
            automatically).  Replies with an explicit ``usage`` are left alone.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.  A request arriving after
    the script is used up gets an HTTP 400 saying so (the SDKs fail at once, without retries).
    """

    def __init__(
        self,
        replies: FakeScript | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        simulate_cache: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.chunk_delay = chunk_delay
        self._cache: _PromptCache | None = _PromptCache() if simulate_cache else None
        self._condition = threading.Condition()
        self._script: FakeScript = []
        self._served = 0
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if replies is not None:
            self.script(replies)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Start serving in a background thread (idempotent)."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = _QuietServer((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeLLMServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` (the server must be started)."""
        if self._server is None:
            raise RuntimeError("FakeLLMServer is not started: use it as a context manager or call start().")
        return f"http://{self.host}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for ``anthropic`` clients (and ``ANTHROPIC_BASE_URL``)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for ``openai`` clients (and ``OPENAI_BASE_URL``)."""
        return self.url + "/v1"

    def env(self, *, api_keys: bool = True) -> dict[str, str]:
        """Environment variables pointing both SDKs (in any process) at this server."""
        values = {"ANTHROPIC_BASE_URL": self.anthropic_base_url, "OPENAI_BASE_URL": self.openai_base_url}
        if api_keys:
            values.update({"ANTHROPIC_API_KEY": FAKE_API_KEY, "OPENAI_API_KEY": FAKE_API_KEY})
        return values

    @contextmanager
    def patched_env(self, *, api_keys: bool = True) -> Iterator[FakeLLMServer]:
        """Set :meth:`env` in ``os.environ`` for the block (restored after)."""
        values = self.env(api_keys=api_keys)
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield self
        finally:
            for name, previous in saved.items():
                if previous is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = previous

    # --- script and records ----------------------------------------------------------------

    def script(self, replies: FakeScript) -> FakeLLMServer:
        """Replace the script; the next request gets its first reply.  Requests stay recorded."""
        if not callable(replies):
            replies = [as_reply(r) for r in replies]
        with self._condition:
            self._script = replies
            self._served = 0
        return self

    def add_replies(self, *replies: Reply | str) -> FakeLLMServer:
        """Append replies to a list script."""
        with self._condition:
            if callable(self._script):
                raise TypeError("add_replies needs a list script, not a function.")
            self._script = [*self._script, *(as_reply(r) for r in replies)]
        return self

    def reset(self, replies: FakeScript | None = None) -> FakeLLMServer:
        """Forget recorded requests and errors, and restart the script (or replace it)."""
        with self._condition:
            self.requests = []
            self.errors = []
            self._served = 0
            if self._cache is not None:
                self._cache = _PromptCache()
        if replies is not None:
            self.script(replies)
        return self

    @property
    def remaining(self) -> int | None:
        """Replies not served yet (``None`` for a function script)."""
        with self._condition:
            if callable(self._script):
                return None
            return max(0, len(self._script) - self._served)

    def count(self, path: str | None = None, *, api: str | None = None) -> int:
        """How many requests arrived (for ``path`` or ``api`` when given)."""
        with self._condition:
            return sum(1 for r in self.requests if (path is None or r.path == path) and (api is None or r.api == api))

    def counts(self) -> dict[str, int]:
        """Requests received per path."""
        with self._condition:
            totals: dict[str, int] = {}
            for r in self.requests:
                totals[r.path] = totals.get(r.path, 0) + 1
            return totals

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; raises ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"FakeLLMServer got {len(self.requests)} requests, expected {count} within {timeout}s."
                    )
                self._condition.wait(left)
            return list(self.requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._condition:
            if not self.requests:
                raise LookupError("FakeLLMServer has not received any request.")
            return self.requests[-1]

    # --- serving (called from handler threads) ---------------------------------------------

    def _record(self, method: str, path: str, body: dict[str, Any], headers: Mapping[str, str]) -> RecordedRequest:
        api = next((name for suffix, name in _APIS.items() if path.endswith(suffix)), "unknown")
        raw = {k.lower(): v for k, v in headers.items()}
        with self._condition:
            record = RecordedRequest(
                index=len(self.requests),
                method=method,
                path=path,
                api=api,
                body=body,
                headers={k: _redact(k, v) for k, v in raw.items()},
                _raw_headers=raw,
            )
            self.requests.append(record)
            self._condition.notify_all()
        return record

    def _reply_for(self, record: RecordedRequest) -> tuple[Reply, int]:
        with self._condition:
            script = self._script
            index = self._served
            self._served += 1
            if not callable(script):
                if index >= len(script):
                    message = (
                        f"FakeLLMServer: the script has {len(script)} replies but request "
                        f"{index + 1} arrived ({record.method} {record.path}); add replies."
                    )
                    self.errors.append(message)
                    return Reply(error=(400, message)), index
                return as_reply(script[index]), index
        try:
            return as_reply(script(record)), index
        except Exception:
            message = "FakeLLMServer: the script function failed:\n" + traceback.format_exc()
            with self._condition:
                self.errors.append(message)
            return Reply(error=(400, message)), index


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client gone mid-reply (a worker killed on purpose in a crash test) is not an error here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _PromptCache:
    """Prompt caching, simulated from the request bodies, block by block.

    Anthropic: a prefix (tools, system, messages) is cached at its ``cache_control`` markers and read
    back by later requests that start with it.  OpenAI (automatic caching): every prefix of a request
    is cached, and a later request reads the longest cached prefix it starts with.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: set[str] = set()

    @staticmethod
    def _blocks(body: dict[str, Any], api: str) -> list[dict[str, Any]]:
        blocks: list[Any] = [*(body.get("tools") or [])]
        if api == "anthropic":
            system = body.get("system") or []
            blocks.extend([{"type": "text", "text": system}] if isinstance(system, str) else system)
            for message in body.get("messages") or []:
                content = message.get("content")
                parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
                blocks.extend({"role": message.get("role"), **part} for part in parts)
        elif api == "openai-chat":
            blocks.extend(body.get("messages") or [])
        else:
            if body.get("instructions"):
                blocks.append({"instructions": body["instructions"]})
            items = body.get("input") or []
            blocks.extend([{"role": "user", "content": items}] if isinstance(items, str) else items)
        return [b if isinstance(b, dict) else {"value": b} for b in blocks]

    def usage_for(self, reply: Reply, record: RecordedRequest, index: int) -> Reply:
        body = record.body
        # The running hash and token count of the prefix ending with each block (markers left out,
        # so a prefix matches whether or not it was marked).
        digest = hashlib.sha256(f"{record.api}:{body.get('model')}".encode())
        prefixes: list[tuple[str, int, bool]] = []
        tokens = 0
        for block in self._blocks(body, record.api):
            marked = "cache_control" in block or record.api != "anthropic"
            text = json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
            digest.update(text.encode())
            tokens += estimate_tokens(text)
            prefixes.append((digest.hexdigest(), tokens, marked))
        last_marker = max((i for i, (_, _, marked) in enumerate(prefixes) if marked), default=-1)
        output_tokens = wire.reply_usage(reply, body, reply.tool_use_parts(index)).output_tokens
        if last_marker < 0:
            return dataclasses.replace(reply, usage=LLMUsage(input_tokens=max(1, tokens), output_tokens=output_tokens))
        with self._lock:
            read = next((t for h, t, _ in reversed(prefixes[: last_marker + 1]) if h in self._cached), 0)
            self._cached.update(h for h, _, marked in prefixes if marked)
        if record.api != "anthropic":  # automatic caching: nothing is billed as a cache write
            usage = LLMUsage(input_tokens=max(1, tokens - read), output_tokens=output_tokens, cache_read_tokens=read)
            return dataclasses.replace(reply, usage=usage)
        cacheable = prefixes[last_marker][1]
        usage = LLMUsage(
            input_tokens=max(1, tokens - cacheable),
            output_tokens=output_tokens,
            cache_read_tokens=read,
            cache_creation_tokens=cacheable - read,
        )
        return dataclasses.replace(reply, usage=usage)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate small writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests instead
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"No route GET {path}"}})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, wire.error_body("openai", 400, "The request body is not JSON."))
            return
        record = self.fake._record("POST", path, body if isinstance(body, dict) else {}, dict(self.headers))
        if record.api == "unknown":
            message = f"FakeLLMServer has no route POST {path}."
            self._send_json(404, wire.error_body("openai", 404, message))
            return
        reply, _ = self.fake._reply_for(record)
        # Ids (tool calls, messages) follow the request number: unique until reset(), even across scripts.
        index = record.index
        delay = self.fake.latency + reply.delay
        if delay:
            time.sleep(delay)
        if reply.error is not None:
            status, message = reply.error
            headers = {}
            if reply.retry_after is not None:
                headers["retry-after"] = f"{reply.retry_after:g}"
            self._send_json(status, wire.error_body(record.api, status, message), headers)
            return
        if self.fake._cache is not None and reply.usage is None:
            reply = self.fake._cache.usage_for(reply, record, index)
        if record.api == "anthropic":
            render_json, render_events = wire.anthropic_message, wire.anthropic_events
        elif record.api == "openai-chat":
            render_json, render_events = wire.chat_completion, wire.chat_events
        else:
            render_json, render_events = wire.response_object, wire.responses_events
        if record.stream:
            self._send_events(render_events(reply, record.body, index))
        else:
            self._send_json(200, render_json(reply, record.body, index))

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, events: list[wire.SSEvent]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            self._write_chunk(frame.encode())
            if self.fake.chunk_delay:
                time.sleep(self.fake.chunk_delay)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


__all__ = ["FAKE_API_KEY", "FakeLLMServer", "RecordedRequest"]
