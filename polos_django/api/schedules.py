"""Schedule endpoints: create (or update by key), list, pause, resume, delete.

Scoped to the caller's project like every API view; the work is done by :mod:`polos_django.schedules`.
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .. import schedules
from ..models import MissedPolicy
from .schema import document
from .serializers import ErrorResponse
from .views import ERRORS, ApiView

NOT_FOUND = {404: OpenApiResponse(ErrorResponse, description="schedule_not_found")}


class ScheduleCreateRequest(serializers.Serializer):
    workflow_id = serializers.CharField(max_length=200)
    cron = serializers.CharField(max_length=200, help_text="Five fields: minute hour day-of-month month day-of-week.")
    timezone = serializers.CharField(max_length=64, default="UTC", help_text="An IANA timezone name.")
    key = serializers.CharField(max_length=255, default="global", help_text="Creating again with a key updates it.")
    missed_policy = serializers.ChoiceField(choices=MissedPolicy.values, default=MissedPolicy.RUN_ONCE)


class ScheduleResponse(serializers.Serializer):
    id = serializers.CharField()
    workflow_id = serializers.CharField()
    cron = serializers.CharField()
    timezone = serializers.CharField()
    key = serializers.CharField()
    paused = serializers.BooleanField()
    missed_policy = serializers.CharField()
    last_occurrence = serializers.CharField(allow_null=True)
    next_occurrence = serializers.CharField(allow_null=True)
    project_id = serializers.CharField()
    created_at = serializers.CharField()


class ScheduleListResponse(serializers.Serializer):
    schedules = ScheduleResponse(many=True)


class ScheduleListView(ApiView):
    @document(
        operation_id="list_schedules",
        request=None,
        responses={200: ScheduleListResponse, **ERRORS},
        summary="List the project's schedules (filter: workflow_id)",
    )
    def get(self, request: Request) -> Response:
        workflow_id = request.query_params.get("workflow_id") or None
        items = schedules.list_schedules(self.project_id, workflow_id)
        return Response({"schedules": [schedules.as_dict(item) for item in items]})

    @document(
        operation_id="create_schedule",
        request=ScheduleCreateRequest,
        responses={201: ScheduleResponse, **ERRORS},
        summary="Create a schedule (or update the workflow's schedule with the same key)",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ScheduleCreateRequest, request.data)
        schedule = schedules.create(
            data["workflow_id"],
            data["cron"],
            data["timezone"],
            data["key"],
            project_id=self.project_id,
            missed_policy=data["missed_policy"],
        )
        return Response(schedules.as_dict(schedule), status=201)


class ScheduleDetailView(ApiView):
    @document(
        operation_id="delete_schedule",
        request=None,
        responses={204: None, **ERRORS, **NOT_FOUND},
        summary="Delete a schedule",
    )
    def delete(self, request: Request, schedule_id: str) -> Response:
        schedules.delete(schedule_id, project_id=self.project_id)
        return Response(status=204)


class _PauseView(ApiView):
    paused = True

    def post(self, request: Request, schedule_id: str) -> Response:
        schedule = schedules.set_paused(schedule_id, self.paused, project_id=self.project_id)
        return Response(schedules.as_dict(schedule))


class SchedulePauseView(_PauseView):
    paused = True

    @document(
        operation_id="pause_schedule",
        request=None,
        responses={200: ScheduleResponse, **ERRORS, **NOT_FOUND},
        summary="Pause a schedule",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        return super().post(request, schedule_id)


class ScheduleResumeView(_PauseView):
    paused = False

    @document(
        operation_id="resume_schedule",
        request=None,
        responses={200: ScheduleResponse, **ERRORS, **NOT_FOUND},
        summary="Resume a paused schedule (from its next occurrence)",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        return super().post(request, schedule_id)


SCHEDULE = r"(?P<schedule_id>[^/]+)"

urlpatterns: list[Any] = [
    re_path(r"^schedules/?$", ScheduleListView.as_view(), name="polos-schedules"),
    re_path(rf"^schedules/{SCHEDULE}/?$", ScheduleDetailView.as_view(), name="polos-schedule"),
    re_path(rf"^schedules/{SCHEDULE}/pause/?$", SchedulePauseView.as_view(), name="polos-schedule-pause"),
    re_path(rf"^schedules/{SCHEDULE}/resume/?$", ScheduleResumeView.as_view(), name="polos-schedule-resume"),
]
