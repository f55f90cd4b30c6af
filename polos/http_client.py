"""``PolosClient``: the SDK's client of the Polos HTTP API (async, over httpx).

Where it connects, first match wins for each of URL, key and project:

1. the constructor's arguments;
2. ``POLOS_API_URL``, ``POLOS_API_KEY``, ``POLOS_PROJECT_ID``;
3. the local settings a ``polos server start`` on this machine wrote (``$POLOS_HOME/local.json``),
   used only when no other API URL was given (or the same one), so a local key is never sent to a
   remote server.

So on the machine that runs the server, ``PolosClient(project_id=...)`` (or ``PolosClient()``) needs
nothing else.  API errors are raised as the matching :class:`~polos.exceptions.PolosError` subclass,
with the server's message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from . import exceptions, serialization
from .exceptions import (
    ConfigurationError,
    ExecutionFailedError,
    ExecutionNotFoundError,
    PayloadValidationError,
    PolosError,
    WorkflowTimeoutError,
)
from .local import read_local_settings
from .types import BatchWorkflowInput, EventData, ExecutionHandle, StreamEvent

ENV_API_URL = "POLOS_API_URL"
ENV_API_KEY = "POLOS_API_KEY"
ENV_PROJECT_ID = "POLOS_PROJECT_ID"
ENV_DEPLOYMENT_ID = "POLOS_DEPLOYMENT_ID"
DEFAULT_API_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1"
LONG_POLL_SECONDS = 60.0  # per result request; wait_for_result chains them
FINISH_TYPES = frozenset({"workflow_finish", "workflow_cancel"})


# --- errors only the HTTP client raises ---------------------------------------------------------


class AuthenticationError(ConfigurationError):
    """The server refused the API key (missing, unknown or revoked)."""

    code = "unauthenticated"


class PermissionDeniedError(ConfigurationError):
    """The API key does not belong to the requested project."""

    code = "forbidden"


class InvalidRequestError(PayloadValidationError):
    """The server rejected the request's fields (``details["field"]`` names the first one)."""

    code = "invalid_request"


class ServerUnavailableError(PolosError):
    """The Polos API could not be reached, or answered with a server error."""

    code = "unavailable"


class ApiError(PolosError):
    """An API error without a more specific class; ``code`` is the server's."""

    code = "api_error"


def _error_classes() -> dict[str, type[PolosError]]:
    found: dict[str, type[PolosError]] = {}
    todo: list[type[PolosError]] = [PolosError]
    while todo:
        cls = todo.pop()
        if cls.__module__ in (exceptions.__name__, __name__):
            found.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return found


def error_from_response(status: int, body: Any, url: str) -> PolosError:
    """The PolosError for an API error response (``body`` is its decoded JSON, if any)."""
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code, message = body["code"], str(body.get("message") or body["code"])
        cls = _error_classes().get(code)
        details = {"status_code": status, "field": body.get("field")}
        if cls is None or cls is PolosError:
            error: PolosError = ApiError(message, **details)
            error.code = code  # the server's code, for callers that switch on it
            return error
        return cls(message, **details)
    text = body if isinstance(body, str) else ""
    if status >= 500:
        return ServerUnavailableError(
            f"the Polos API answered HTTP {status} for {url}: {text[:200]}", status_code=status
        )
    return ApiError(f"HTTP {status} from {url}: {text[:200]}", status_code=status)


def _same_url(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        return url.rstrip("/").replace("://localhost", "://127.0.0.1")

    return norm(a) == norm(b)


def _jsonable(value: Any) -> Any:
    return None if value is None else serialization.to_jsonable(value)


class PolosClient:
    """Client of a Polos server's HTTP API (see module docstring).

    Args:
        api_url: the server, e.g. ``http://127.0.0.1:8080``.
        api_key: an API key of the project (``polos_...``).
        project_id: the project; optional when the key's project is meant.
        deployment_id: accepted for compatibility with the Polos SDK (sent, not used).
        timeout: seconds for one ordinary request.
    """

    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        project_id: str | None = None,
        deployment_id: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        api_url = api_url or os.environ.get(ENV_API_URL) or None
        api_key = api_key or os.environ.get(ENV_API_KEY) or None
        project_id = project_id or os.environ.get(ENV_PROJECT_ID) or None
        if api_key is None or api_url is None or project_id is None:
            local = read_local_settings()
            if local is not None and (api_url is None or _same_url(api_url, local.api_url)):
                api_url = api_url or local.api_url
                api_key = api_key or local.api_key
                project_id = project_id or local.project_id
        if not api_key:
            raise ConfigurationError(
                "no Polos API key: pass PolosClient(api_key=...), set POLOS_API_KEY, or start a local server "
                "(`polos server start`), which saves one for clients on this machine"
            )
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.api_key = api_key
        self.project_id = project_id
        self.deployment_id = deployment_id or os.environ.get(ENV_DEPLOYMENT_ID) or None
        self.timeout = timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"PolosClient(api_url={self.api_url!r}, project_id={self.project_id!r})"

    # --- plumbing ------------------------------------------------------------------------------

    def _get_headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if self.project_id:
            headers["X-Project-ID"] = self.project_id
        if self.deployment_id:
            headers["X-Deployment-ID"] = self.deployment_id
        return headers

    def _client(self) -> httpx.AsyncClient:
        # An httpx client belongs to the event loop it was first used on (asyncio.run twice = two loops).
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.is_closed or self._http_loop is not loop:
            self._http = httpx.AsyncClient(
                base_url=self.api_url + API_PREFIX,
                headers=self._get_headers(),
                timeout=self.timeout,
                transport=self._transport,
            )
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool (also done by ``async with PolosClient() as client:``)."""
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    async def __aenter__(self) -> PolosClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _unreachable(self, exc: Exception) -> ServerUnavailableError:
        return ServerUnavailableError(
            f"cannot reach the Polos API at {self.api_url} ({type(exc).__name__}: {exc}); "
            "is the server running (`polos server start`)?"
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        try:
            response = await self._client().request(
                method, path, json=body, params=params, timeout=timeout if timeout is not None else self.timeout
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response.json() if response.content else None

    def _error(self, response: httpx.Response) -> PolosError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return error_from_response(response.status_code, body, str(response.request.url))

    # --- executions ----------------------------------------------------------------------------

    async def invoke(
        self,
        workflow_id: str,
        payload: Any = None,
        queue_name: str | None = None,
        queue_concurrency_limit: int | None = None,
        concurrency_key: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        initial_state: Any = None,
        run_timeout_seconds: int | None = None,
        priority: int = 0,
    ) -> ExecutionHandle:
        """Start an execution of a workflow; returns its handle at once.

        ``priority`` orders executions within their (queue, concurrency key) lane: higher first.
        """
        data = await self._run(
            workflow_id,
            payload,
            queue_name=queue_name,
            queue_concurrency_limit=queue_concurrency_limit,
            concurrency_key=concurrency_key,
            session_id=session_id,
            user_id=user_id,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
            priority=priority,
        )
        return ExecutionHandle.model_validate(data)

    async def _run(self, workflow_id: str, payload: Any, wait_seconds: float = 0.0, **options: Any) -> dict[str, Any]:
        """``POST .../run`` with :meth:`invoke`'s options (checked here: the server ignores unknown fields)."""
        unknown = sorted(set(options) - _INVOKE_OPTIONS)
        if unknown:
            raise TypeError(f"unknown invoke option(s) {unknown}; the options are {sorted(_INVOKE_OPTIONS)}")
        body = {name: options.get(name) for name in sorted(_INVOKE_OPTIONS - {"priority"})}
        body["payload"] = _jsonable(payload)
        body["initial_state"] = _jsonable(options.get("initial_state"))
        if options.get("priority"):
            body["priority"] = options["priority"]
        if wait_seconds:
            body["wait_seconds"] = wait_seconds
        path = f"/workflows/{quote(workflow_id, safe='')}/run"
        return dict(await self._request("POST", path, body=body, timeout=wait_seconds + 15 if wait_seconds else None))

    async def batch_invoke(
        self,
        workflows: Sequence[BatchWorkflowInput | dict[str, Any]],
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> list[ExecutionHandle]:
        """Start several executions in one transaction (all or none); handles in request order."""
        if not workflows:
            return []
        items = []
        for item in workflows:
            spec = item if isinstance(item, BatchWorkflowInput) else BatchWorkflowInput.model_validate(item)
            items.append(
                {
                    "id": spec.id,
                    "payload": _jsonable(spec.payload),
                    "initial_state": _jsonable(spec.initial_state),
                    "run_timeout_seconds": spec.run_timeout_seconds,
                }
            )
        body = {"workflows": items, "session_id": session_id, "user_id": user_id}
        data = await self._request("POST", "/workflows/batch_run", body=body)
        return [ExecutionHandle.model_validate(h) for h in data["executions"]]

    async def resume(
        self, suspend_workflow_id: str, suspend_execution_id: str, suspend_step_key: str, data: Any = None
    ) -> None:
        """Resume the step ``suspend_step_key`` suspended in the execution tree of ``suspend_execution_id``.

        Raises:
            NotResumableError: nothing in that tree waits on that step key (any more).
        """
        body = {"step_key": suspend_step_key, "data": _jsonable(data)}
        await self._request("POST", f"/executions/{quote(suspend_execution_id, safe='')}/resume", body=body)

    async def get_execution(self, execution_id: str) -> dict[str, Any]:
        """The execution as a dict (``status``, ``result``, ``error``, ...)."""
        data: dict[str, Any] = await self._request("GET", f"/executions/{quote(execution_id, safe='')}")
        return data

    async def list_executions(self, **filters: Any) -> dict[str, Any]:
        """A page of the project's executions: filters ``status``, ``workflow_id``, ``session_id``,
        ``root_execution_id``, ``limit``, ``offset``."""
        params = {k: v for k, v in filters.items() if v is not None}
        data: dict[str, Any] = await self._request("GET", "/executions", params=params)
        return data

    async def cancel_execution(self, execution_id: str) -> bool:
        """Cancel the execution and its children; ``False`` if it had finished (or does not exist)."""
        try:
            data = await self._request("POST", f"/executions/{quote(execution_id, safe='')}/cancel")
        except ExecutionNotFoundError:
            return False
        return bool(data["cancelled"])

    # --- schedules (``polos.schedules``) -------------------------------------------------------

    async def create_schedule(
        self, workflow_id: str, cron: str, timezone: str = "UTC", key: str = "global", missed_policy: str = "run_once"
    ) -> str:
        """Create (or update, by key) a schedule; returns its id."""
        body = {"workflow_id": workflow_id, "cron": cron, "timezone": timezone, "key": key}
        body["missed_policy"] = missed_policy
        data = await self._request("POST", "/schedules", body=body)
        return str(data["id"])

    async def list_schedules(self, workflow_id: str | None = None) -> list[dict[str, Any]]:
        """The project's schedules (of one workflow if given)."""
        params = {"workflow_id": workflow_id} if workflow_id else None
        data = await self._request("GET", "/schedules", params=params)
        return list(data["schedules"])

    async def pause_schedule(self, schedule_id: str) -> None:
        await self._request("POST", f"/schedules/{quote(schedule_id, safe='')}/pause")

    async def resume_schedule(self, schedule_id: str) -> None:
        await self._request("POST", f"/schedules/{quote(schedule_id, safe='')}/resume")

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._request("DELETE", f"/schedules/{quote(schedule_id, safe='')}")

    async def wait_for_result(self, execution_id: str, timeout: float | None = 600.0) -> Any:
        """Wait until the execution finishes and return its result.

        The server pushes the finish (a long poll, no polling interval).  ``timeout`` is the
        caller's: when it passes, ``WorkflowTimeoutError`` is raised and the execution goes on.

        Raises:
            ExecutionFailedError: the execution failed or was cancelled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        path = f"/executions/{quote(execution_id, safe='')}/result"
        retry_delay = 0.1
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            poll = LONG_POLL_SECONDS if remaining is None else min(LONG_POLL_SECONDS, remaining)
            try:
                data = await self._request("GET", path, params={"timeout": round(poll, 3)}, timeout=poll + 15)
                break
            except WorkflowTimeoutError:
                pass
            except ServerUnavailableError:  # a restarting server: keep waiting until the deadline
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(retry_delay)
                retry_delay = min(retry_delay * 2, 2.0)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkflowTimeoutError(
                    f"execution {execution_id} did not finish within {timeout} s; it keeps running",
                    execution_id=execution_id,
                )
        return _outcome(data, execution_id)

    async def invoke_and_wait(
        self,
        workflow_id: str,
        payload: Any = None,
        timeout: float | None = 600.0,
        **options: Any,
    ) -> Any:
        """Start an execution and return its result: :meth:`invoke` + :meth:`wait_for_result` in one request.

        The server answers the run request when the execution finishes (within a long-poll window;
        longer runs continue with :meth:`wait_for_result`).  ``options`` are :meth:`invoke`'s keyword
        arguments.  ``timeout`` is the caller's: when it passes, ``WorkflowTimeoutError`` is raised
        and the execution goes on.

        Raises:
            ExecutionFailedError: the execution failed or was cancelled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = LONG_POLL_SECONDS if timeout is None else max(0.0, min(LONG_POLL_SECONDS, timeout))
        data = await self._run(workflow_id, payload, wait_seconds=round(wait, 3), **options)
        if data.get("result") is not None:
            return _outcome(data["result"], data["id"])
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return await self.wait_for_result(data["id"], timeout=remaining)

    async def list_workflows(self) -> list[dict[str, Any]]:
        """The workflows the server and its running workers know."""
        data = await self._request("GET", "/workflows")
        return list(data["workflows"])

    async def list_workers(self) -> list[dict[str, Any]]:
        """The workers alive now: hostname, queues, served workflow ids, concurrency, heartbeat times,
        and ``running`` (executions of this project each is running).  Empty when the server cannot
        tell (no Redis)."""
        data = await self._request("GET", "/workers")
        return list(data["workers"])

    async def list_queues(self) -> list[dict[str, Any]]:
        """Per queue: the broker ``backlog``, this project's ``queued`` / ``running`` / ``waiting``
        executions, their concurrency ``lanes``, the ``concurrency_limit`` and the live ``workers``."""
        data = await self._request("GET", "/queues")
        return list(data["queues"])

    # --- events --------------------------------------------------------------------------------

    async def publish_events(self, topic: str, events: Sequence[EventData | dict[str, Any]]) -> list[int]:
        """Publish events on ``topic`` in one transaction; returns their sequence ids."""
        if not events:
            return []
        items = []
        for event in events:
            spec = event if isinstance(event, EventData) else EventData.model_validate(event)
            items.append({"event_type": spec.event_type, "data": _jsonable(spec.data)})
        data = await self._request("POST", "/events/batch_publish", body={"topic": topic, "events": items})
        return [int(s) for s in data["sequence_ids"]]

    async def list_events(self, topic: str, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of a topic's events after the sequence id ``after`` (``events``, ``next_after``, ``has_more``)."""
        data: dict[str, Any] = await self._request(
            "GET", "/events", params={"topic": topic, "after": after, "limit": limit}
        )
        return data

    async def stream_events(
        self,
        topic: str | None = None,
        *,
        workflow_id: str | None = None,
        workflow_run_id: str | None = None,
        last_sequence_id: int | None = None,
        last_timestamp: dt.datetime | None = None,
        reconnect_timeout: float = 60.0,
    ) -> AsyncIterator[StreamEvent]:
        """Events of a topic, or of a workflow run, as they come (see ``polos.features.events``).

        A dropped connection is re-opened after the last sequence id seen, so nothing is missed or
        repeated; after ``reconnect_timeout`` s without getting through, ``ServerUnavailableError``.
        A workflow-run stream ends after the run's finish event.
        """
        if workflow_run_id is not None:
            if not workflow_id:
                raise ConfigurationError("stream_workflow needs the workflow id with the run id")
            path = f"/workflows/{quote(workflow_id, safe='')}/runs/{quote(workflow_run_id, safe='')}/events/stream"
            params: dict[str, Any] = {}
        elif topic:
            path, params = "/events/stream", {"topic": topic}
        else:
            raise ConfigurationError("give a topic, or a workflow id and run id, to stream")
        cursor = last_sequence_id
        since = (
            last_timestamp.replace(tzinfo=dt.UTC) if last_timestamp and not last_timestamp.tzinfo else last_timestamp
        )
        failing_since: float | None = None
        delay = 0.1
        # Server keep-alives come every 15 s: a read that waits longer is a dead connection.
        stream_timeout = httpx.Timeout(10.0, read=45.0)
        while True:
            query = dict(params)
            if cursor is not None:
                query["last_sequence_id"] = cursor
            elif since is not None:
                query["last_timestamp"] = since.isoformat()
            try:
                async with self._client().stream("GET", path, params=query, timeout=stream_timeout) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        error = self._error(response)
                        if not isinstance(error, ServerUnavailableError):
                            raise error
                        raise httpx.RemoteProtocolError(str(error))
                    failing_since, delay = None, 0.1
                    async for kind, data in _sse_messages(response.aiter_lines()):
                        if kind == "end":
                            return
                        event = StreamEvent.model_validate(json.loads(data))
                        cursor = event.sequence_id
                        yield event
                        if workflow_run_id is not None and _finishes(event, workflow_run_id):
                            return
            except httpx.TransportError as exc:
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > reconnect_timeout:
                    raise self._unreachable(exc) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


_INVOKE_OPTIONS = frozenset(
    {
        "queue_name",
        "queue_concurrency_limit",
        "concurrency_key",
        "session_id",
        "user_id",
        "initial_state",
        "run_timeout_seconds",
        "priority",
    }
)


def _outcome(data: dict[str, Any], execution_id: str) -> Any:
    """The result of a finished execution from a result body, or its failure raised."""
    if data["status"] == "completed":
        encoded = data.get("encoded_result")
        return serialization.loads(encoded) if encoded else data.get("result")
    raise ExecutionFailedError(
        data.get("message") or f"execution {execution_id} {data['status']}",
        execution_id=execution_id,
        status=data["status"],
        error_type=data.get("error_type"),
        error=data.get("error"),
    )


def _finishes(event: StreamEvent, execution_id: str) -> bool:
    return (
        event.event_type in FINISH_TYPES
        and isinstance(event.data, dict)
        and event.data.get("execution_id") == execution_id
    )


async def _sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """``(event name, data)`` of each server-sent event (comments and ``retry:`` skipped)."""
    name, data = "message", list[str]()
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value
