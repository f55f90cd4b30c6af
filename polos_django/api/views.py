"""The request/response endpoints of the API (Django REST framework, synchronous).

The waiting and streaming endpoints are async views in :mod:`polos_django.api.async_views`.
Every view is scoped to the caller's project (``request.user.project_id``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from polos.exceptions import ExecutionNotFoundError, WorkflowNotFoundError
from polos.invocation import execution_dict, handle_for, new_execution
from polos.store import NewEvent, NewExecution
from polos.store import ResumeRequest as StoreResume
from polos.workflow import get_all_workflows, get_workflow

from .. import status
from ..models import Execution
from ..store import get_store, sql
from . import registry
from . import serializers as s
from .auth import ApiKeyAuthentication
from .errors import exception_handler
from .schema import ApiSchema, document
from .streams import event_dict, fetch_events

ERRORS = {
    400: OpenApiResponse(s.ErrorResponse, description="invalid_request / invalid_payload"),
    401: OpenApiResponse(s.ErrorResponse, description="unauthenticated"),
    403: OpenApiResponse(s.ErrorResponse, description="forbidden"),
}
NOT_FOUND = {404: OpenApiResponse(s.ErrorResponse, description="workflow_not_found / execution_not_found")}
CONFLICT = {409: OpenApiResponse(s.ErrorResponse, description="not_waiting / invalid_state")}


class ApiView(APIView):
    """Base of the API views: API-key auth, JSON only, the API's error shape."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = ApiSchema()
    polos_api = True  # documented in the OpenAPI schema

    def get_exception_handler(self) -> Any:
        return exception_handler

    @property
    def project_id(self) -> str:
        return str(self.request.user.project_id)

    def validated(self, serializer_class: type[s.serializers.Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def execution_request(workflow_id: str, project_id: str, payload: Any = None, **options: Any) -> NewExecution:
    """Validate an invoke for the server's registry, or for a workflow a ``polos.Worker`` announced.

    Raises:
        WorkflowNotFoundError: neither knows the workflow.
    """
    if get_workflow(workflow_id) is not None:
        return new_execution(workflow_id, payload, project_id=project_id, **options)
    entry = registry.lookup(workflow_id)
    if entry is None:
        raise WorkflowNotFoundError(
            f"workflow {workflow_id!r} is not registered: start a worker that serves it (polos.Worker) "
            "or list its module in POLOS['WORKFLOW_MODULES']"
        )
    # The worker validates the payload when it runs; route to the queue the worker consumes.
    if options.get("queue_name") is None and entry.get("queue"):
        options["queue_name"] = entry["queue"]
        if options.get("queue_concurrency_limit") is None and entry.get("queue_concurrency_limit"):
            options["queue_concurrency_limit"] = entry["queue_concurrency_limit"]
    request = new_execution(workflow_id, payload, project_id=project_id, require_registered=False, **options)
    request.workflow_type = str(entry.get("type") or "workflow")
    return request


class WorkflowBatchRunView(ApiView):
    @document(
        operation_id="batch_run_workflows",
        request=s.BatchInvokeRequest,
        responses={201: s.BatchInvokeResponse, **ERRORS, **NOT_FOUND},
        summary="Start several executions in one transaction (all or none)",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.BatchInvokeRequest, request.data)
        requests = [
            execution_request(
                item["id"],
                self.project_id,
                item["payload"],
                session_id=data["session_id"],
                user_id=data["user_id"],
                initial_state=item["initial_state"],
                run_timeout_seconds=item["run_timeout_seconds"],
            )
            for item in data["workflows"]
        ]
        records = get_store().create_executions(requests)
        return Response({"executions": [handle_for(r).model_dump() for r in records]}, status=201)


class WorkflowListView(ApiView):
    @document(
        operation_id="list_workflows",
        responses={200: s.WorkflowList, **ERRORS},
        summary="Workflows this server and the running workers know",
    )
    def get(self, request: Request) -> Response:
        found = {wf_id: registry.describe(wf) for wf_id, wf in get_all_workflows().items()}
        for wf_id, entry in registry.announced().items():
            found.setdefault(wf_id, entry)
        served = status.workflow_availability()  # live workers per workflow (polos_django.status)
        for wf_id, entry in found.items():
            entry["workers"] = (served or {}).get(wf_id, [])
            entry["available"] = None if served is None else bool(entry["workers"])
        fields = list(s.WorkflowResponse().fields)
        workflows = [{k: found[wf_id].get(k) for k in fields} for wf_id in sorted(found)]
        return Response({"workflows": workflows})


def _record(execution_id: str, project_id: str) -> Any:
    record = get_store().get_execution(execution_id, project_id)
    if record is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r} in this project")
    return record


class ExecutionListView(ApiView):
    @document(
        operation_id="list_executions",
        parameters=[s.ExecutionFilters],
        responses={200: s.ExecutionPage, **ERRORS},
        summary="Executions of the project, newest first",
    )
    def get(self, request: Request) -> Response:
        query = self.validated(s.ExecutionFilters, request.query_params)
        limit, offset = query.pop("limit"), query.pop("offset")
        rows = Execution.objects.filter(project_id=self.project_id, **query).order_by("-created_at", "-id")
        columns = [c if c != "parent_execution_id" else "parent_id" for c in sql.EXECUTION_COLUMNS]
        page = [execution_dict(sql.to_record(r)) for r in rows.values_list(*columns)[offset : offset + limit]]
        count = rows.count()
        next_offset = offset + limit if offset + limit < count else None
        return Response({"count": count, "limit": limit, "offset": offset, "next_offset": next_offset, "results": page})


class ExecutionDetailView(ApiView):
    @document(
        operation_id="get_execution",
        responses={200: s.ExecutionResponse, **ERRORS, **NOT_FOUND},
        summary="An execution: status, result, error, state",
    )
    def get(self, request: Request, execution_id: str) -> Response:
        return Response(execution_dict(_record(execution_id, self.project_id)))


class ExecutionCancelView(ApiView):
    @document(
        operation_id="cancel_execution",
        request=None,
        responses={200: s.CancelResponse, **ERRORS, **NOT_FOUND},
        summary="Cancel an execution and its children",
    )
    def post(self, request: Request, execution_id: str) -> Response:
        cancelled = get_store().cancel(execution_id, self.project_id)
        return Response({"cancelled": cancelled, "status": _record(execution_id, self.project_id).status})


class ExecutionResumeView(ApiView):
    @document(
        operation_id="resume_execution",
        request=s.ResumeRequest,
        responses={200: s.ResumeResponse, **ERRORS, **NOT_FOUND, **CONFLICT},
        summary="Resume a suspended step in an execution tree",
        description="`execution_id` in the URL is the root execution (the handle's id); the execution "
        "waiting on `step_key` anywhere in its tree is resumed.",
    )
    def post(self, request: Request, execution_id: str) -> Response:
        data = self.validated(s.ResumeRequest, request.data)
        resume = StoreResume(execution_id, data["step_key"], data["data"], data["execution_id"])
        event = get_store().resume(resume, self.project_id)
        return Response({"sequence_id": event.sequence_id, "execution_id": event.execution_id})


class EventPublishView(ApiView):
    @document(
        operation_id="publish_event",
        request=s.PublishRequest,
        responses={201: s.PublishResponse, **ERRORS},
        summary="Publish one event on a topic",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.PublishRequest, request.data)
        events = [NewEvent(data["event_type"], data["data"])]
        [record] = get_store().publish_events(data["topic"], events, self.project_id)
        return Response({"sequence_id": record.sequence_id}, status=201)


class EventBatchPublishView(ApiView):
    @document(
        operation_id="batch_publish_events",
        request=s.BatchPublishRequest,
        responses={201: s.BatchPublishResponse, **ERRORS},
        summary="Publish several events on one topic, in order, in one transaction",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.BatchPublishRequest, request.data)
        events = [NewEvent(e["event_type"], e["data"]) for e in data["events"]]
        records = get_store().publish_events(data["topic"], events, self.project_id)
        return Response({"sequence_ids": [r.sequence_id for r in records]}, status=201)


class EventListView(ApiView):
    @document(
        operation_id="list_events",
        parameters=[s.EventFilters],
        responses={200: s.EventPage, **ERRORS},
        summary="Events of a topic after a sequence id cursor, oldest first",
    )
    def get(self, request: Request) -> Response:
        query = self.validated(s.EventFilters, request.query_params)
        limit = query["limit"]
        events = fetch_events(query["topic"], self.project_id, query["after"], None, limit + 1)
        page = events[:limit]
        next_after = page[-1].sequence_id if page else query["after"]
        return Response(
            {"events": [event_dict(e) for e in page], "next_after": next_after, "has_more": len(events) > limit}
        )
