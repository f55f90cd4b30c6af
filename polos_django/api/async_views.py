"""The endpoints that wait (run-and-wait, the result long-poll, the SSE streams): async views.

They are async so that a waiting client holds no thread: under ASGI (daphne) thousands of them
cost a coroutine and a Redis subscription each.  They subclass DRF's ``APIView`` only so that
drf-spectacular documents them; ``dispatch`` is Django's async path with the API's own
authentication and error shape, not DRF's synchronous request cycle.
"""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import MethodNotAllowed, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from polos.exceptions import ExecutionFailedError, ExecutionNotFoundError, WorkflowTimeoutError
from polos.invocation import execution_dict, handle_for, result_of
from polos.store import COMPLETED, ExecutionRecord

from ..client import wait_finished
from ..store import get_store
from . import serializers as s
from .auth import ApiKeyAuthentication, ApiPrincipal, authenticate_request
from .errors import ApiError, response_for
from .schema import ApiSchema, document
from .streams import follow, sse
from .views import ERRORS, NOT_FOUND, execution_request

SSE_RESPONSE = {
    (200, "text/event-stream"): OpenApiResponse(
        OpenApiTypes.STR,
        description="Server-sent events: `id:` is the sequence id, `data:` the event as JSON "
        "(id, sequence_id, topic, event_type, data, created_at, execution_id); `: keep-alive` comments "
        "every 15 s; a finished workflow run ends with an `end` event.",
    ),
}


class AsyncApiView(APIView):
    """An async view documented like the DRF views (see module docstring)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]  # what the schema documents; `body()` reads JSON itself
    schema = ApiSchema()
    polos_api = True  # documented in the OpenAPI schema
    principal: ApiPrincipal

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        self.args, self.kwargs, self.request = args, kwargs, request  # type: ignore[assignment]
        try:
            method = (request.method or "").lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            if handler is None or method == "options":
                raise MethodNotAllowed(request.method or "")
            self.principal = await authenticate_request(request.META, request.GET.get("project_id"))
            return await handler(request, *args, **kwargs)  # type: ignore[no-any-return]
        except Exception as exc:
            response = response_for(exc)
            if response is None:
                raise
            return response

    @property
    def project_id(self) -> str:
        return self.principal.project_id

    def query(self, serializer_class: type[s.serializers.Serializer]) -> dict[str, Any]:
        return self._validated(serializer_class, self.request.GET)

    def body(self, serializer_class: type[s.serializers.Serializer]) -> dict[str, Any]:
        """The JSON body validated by ``serializer_class`` (an empty body is ``{}``)."""
        content_type = self.request.content_type or "application/json"
        if content_type != "application/json":
            raise UnsupportedMediaType(content_type)
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"the body is not valid JSON: {exc}") from None
        return self._validated(serializer_class, data)

    @staticmethod
    def _validated(serializer_class: type[s.serializers.Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def result_body(record: ExecutionRecord) -> dict[str, Any]:
    execution = execution_dict(record)
    message = None
    if record.status != COMPLETED:
        try:
            result_of(record)
        except ExecutionFailedError as exc:
            message = exc.message
    return {
        "execution_id": record.id,
        "workflow_id": record.workflow_id,
        "status": record.status,
        "result": execution["result"],
        "encoded_result": record.result if record.status == COMPLETED else None,
        "error": execution["error"],
        "error_type": execution["error_type"],
        "message": message,
    }


def _start(workflow_id: str, project_id: str, payload: Any, options: dict[str, Any]) -> ExecutionRecord:
    [record] = get_store().create_executions([execution_request(workflow_id, project_id, payload, **options)])
    return record


class WorkflowRunView(AsyncApiView):
    @document(
        operation_id="run_workflow",
        request=s.InvokeRequest,
        responses={201: s.RunResponse, **ERRORS, **NOT_FOUND},
        summary="Start an execution of a workflow (and optionally wait for its result)",
        description="Answers with the execution's handle at once, or, with `wait_seconds`, as soon as the "
        "execution finishes (its outcome in `result`) or when the wait ends (`result` null; it keeps running). "
        "One request instead of run + result: what `Workflow.run` uses.",
    )
    async def post(self, request: HttpRequest, workflow_id: str) -> HttpResponse:
        data = self.body(s.InvokeRequest)
        payload, wait = data.pop("payload"), data.pop("wait_seconds", 0.0)
        # One hop to this request's thread for the lookup, the insert and the doorbell (on commit).
        record = await sync_to_async(_start)(workflow_id, self.project_id, payload, data)
        body: dict[str, Any] = handle_for(record).model_dump()
        if wait:
            body["result"] = None
            try:
                finished = await wait_finished(record.id, self.project_id, time.monotonic() + wait)
            except WorkflowTimeoutError:
                pass
            else:
                body["result"] = result_body(finished)
        return JsonResponse(body, status=201)


class ExecutionResultView(AsyncApiView):
    @document(
        operation_id="wait_for_result",
        parameters=[s.ResultQuery],
        responses={
            200: s.ResultResponse,
            **ERRORS,
            **NOT_FOUND,
            408: OpenApiResponse(s.ErrorResponse, description="timeout: not finished yet (it keeps running)"),
        },
        summary="Wait for an execution to finish (long poll)",
        description="Answers as soon as the execution finishes (pushed over Redis, no polling interval), "
        "or with 408 `timeout` after `timeout` seconds; the execution is not affected.",
    )
    async def get(self, request: HttpRequest, execution_id: str) -> HttpResponse:
        timeout = self.query(s.ResultQuery)["timeout"]
        record = await wait_finished(execution_id, self.project_id, time.monotonic() + timeout)
        return JsonResponse(result_body(record))


def stream_response(stream: Any, *, end_marker: bool) -> StreamingHttpResponse:
    response = StreamingHttpResponse(sse(stream, end_marker=end_marker), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx pass events through at once
    return response


def _cursor(request: HttpRequest, last_sequence_id: int | None) -> int:
    if last_sequence_id is not None:
        return last_sequence_id
    header = request.META.get("HTTP_LAST_EVENT_ID", "")  # EventSource sends it when it reconnects
    return int(header) if header.isdigit() and int(header) <= s.MAX_SEQUENCE else 0


async def run_topic(workflow_id: str, execution_id: str, project_id: str) -> tuple[str, str]:
    """The topic of a workflow run and the root execution whose finish ends its stream."""
    record = await database_sync_to_async(get_store().get_execution)(execution_id, project_id)
    if record is None or workflow_id not in (record.workflow_id, record.root_workflow_id):
        raise ExecutionNotFoundError(f"no run {execution_id!r} of workflow {workflow_id!r} in this project")
    return record.topic, record.root_execution_id or record.id


class EventStreamView(AsyncApiView):
    @document(
        operation_id="stream_events",
        parameters=[s.StreamQuery],
        responses={**SSE_RESPONSE, **ERRORS, **NOT_FOUND},
        summary="Follow a topic (or a workflow run) as server-sent events",
        description="Replays the topic's events after `last_sequence_id` (or the `Last-Event-ID` header; "
        "from the beginning when neither is given), then follows new ones live. With `workflow_id` and "
        "`workflow_run_id` instead of `topic`, behaves like the workflow-run stream.",
    )
    async def get(self, request: HttpRequest) -> HttpResponse:
        query = self.query(s.StreamQuery)
        until = None
        if query.get("workflow_run_id"):
            if not query.get("workflow_id"):
                raise ApiError(400, "invalid_request", "workflow_run_id needs workflow_id", "workflow_id")
            topic, until = await run_topic(query["workflow_id"], query["workflow_run_id"], self.project_id)
        elif query.get("topic"):
            topic = query["topic"]
        else:
            raise ApiError(400, "invalid_request", "give a topic, or workflow_id and workflow_run_id", "topic")
        after = _cursor(request, query["last_sequence_id"])
        since = query["last_timestamp"] if not after else None
        events = follow(topic, self.project_id, after=after, since=since, until_finished=until)
        return stream_response(events, end_marker=until is not None)


class WorkflowRunStreamView(AsyncApiView):
    @document(
        operation_id="stream_workflow_run",
        parameters=[s.RunStreamQuery],
        responses={**SSE_RESPONSE, **ERRORS, **NOT_FOUND},
        summary="Follow the events of a workflow run until it finishes",
        description="All events of the run's tree (its topic), replayed after the cursor, then live; the "
        "stream ends after the root execution's workflow_finish or workflow_cancel event.",
    )
    async def get(self, request: HttpRequest, workflow_id: str, execution_id: str) -> HttpResponse:
        query = self.query(s.RunStreamQuery)
        topic, until = await run_topic(workflow_id, execution_id, self.project_id)
        after = _cursor(request, query["last_sequence_id"])
        since = query["last_timestamp"] if not after else None
        events = follow(topic, self.project_id, after=after, since=since, until_finished=until)
        return stream_response(events, end_marker=True)
