"""``GET /api/v1/workers`` and ``GET /api/v1/queues``: live workers and queue status.

The data comes from :mod:`polos_django.status`.  Workers are shared by every project (a worker
serves whichever project's executions reach its queues); the execution counts (``running`` per
worker, per queue and per lane) are the caller's project's only.  Broker backlogs count every
project's messages: the broker does not know about projects.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .. import status
from .schema import document
from .views import ERRORS, ApiView


class WorkerResponse(serializers.Serializer):
    hostname = serializers.CharField(help_text="The worker's Celery hostname (unique while it runs).")
    host = serializers.CharField(allow_null=True, help_text="The machine it runs on.")
    pid = serializers.IntegerField(help_text="Its main process.")
    pids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Processes that run executions (pool children)."
    )
    queues = serializers.ListField(child=serializers.CharField(), help_text="Celery queues it consumes.")
    workflows = serializers.ListField(
        child=serializers.CharField(), help_text="Ids of the workflows, agents and tools it serves."
    )
    concurrency = serializers.IntegerField(help_text="Executions it runs at once.")
    started_at = serializers.CharField(help_text="When it became ready (ISO 8601, UTC).")
    last_seen = serializers.CharField(help_text="Its last heartbeat (ISO 8601, UTC).")
    heartbeat_seconds = serializers.FloatField(help_text="Its heartbeat interval.")
    expires_in_seconds = serializers.FloatField(
        help_text="A worker without a heartbeat for this long is gone (it died without shutting down)."
    )
    running = serializers.IntegerField(help_text="Executions of this project it is running now.")


class WorkerList(serializers.Serializer):
    workers = WorkerResponse(many=True)
    known = serializers.BooleanField(
        help_text="False when worker presence cannot be read (no Redis configured or reachable): the list "
        "is then empty for lack of information, not for lack of workers."
    )


class LaneResponse(serializers.Serializer):
    concurrency_key = serializers.CharField(allow_null=True, help_text="null: the queue-wide lane.")
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    waiting = serializers.IntegerField()
    concurrency_limit = serializers.IntegerField(allow_null=True, help_text="The lane's limit.")


class QueueResponse(serializers.Serializer):
    name = serializers.CharField()
    backlog = serializers.IntegerField(
        allow_null=True,
        help_text="Messages waiting in the broker's Celery queue, every project's (null: not a Redis broker "
        "or not reachable).",
    )
    queued = serializers.IntegerField(help_text="Executions of this project waiting to be claimed.")
    running = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="Suspended executions (waiting on events, timers, children).")
    concurrency_limit = serializers.IntegerField(
        allow_null=True, help_text="The configured limit (POLOS['QUEUES'] or the queue as declared)."
    )
    lanes = LaneResponse(many=True, help_text="Active executions per (queue, concurrency key) with a limit.")
    workers = serializers.ListField(child=serializers.CharField(), help_text="Live workers consuming it.")


class QueueList(serializers.Serializer):
    queues = QueueResponse(many=True)
    workers_known = serializers.BooleanField(help_text="False when worker presence cannot be read.")


class WorkerListView(ApiView):
    @document(
        operation_id="list_workers",
        responses={200: WorkerList, **ERRORS},
        summary="Workers alive now: queues, workflows, concurrency, heartbeat, executions running",
    )
    def get(self, request: Request) -> Response:
        found = status.workers(self.project_id)
        fields = list(WorkerResponse().fields)
        workers = [{k: w.get(k) for k in fields} for w in found or ()]
        return Response({"workers": workers, "known": found is not None})


class QueueListView(ApiView):
    @document(
        operation_id="list_queues",
        responses={200: QueueList, **ERRORS},
        summary="Queues: broker backlog, the project's executions per status and lane, limits, workers",
    )
    def get(self, request: Request) -> Response:
        return Response(status.queues(self.project_id))
