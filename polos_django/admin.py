"""Django admin: the pending approvals inbox (approve / reject, bulk too, and a form view for richer
forms), executions (read-only, steps, waits, approvals and notifications inline, events, a link to
the live trace) with a cancel action, events, event triggers, answered approvals, notifications,
projects and API keys.  Schedules are django-celery-beat's own admin (``PeriodicTask``).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from polos.exceptions import PolosError

from .approvals import service
from .approvals.display import context_items
from .approvals.forms import FormSpec, SuspendForm
from .models import (
    ApiKey,
    Approval,
    Event,
    EventTrigger,
    Execution,
    Notification,
    PendingApproval,
    Project,
    Step,
    Wait,
)
from .store import get_store

ANSWER_PERMISSION = "polos.answer_pendingapproval"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StepInline(ReadOnlyInline):
    model = Step
    fields = ("key", "kind", "status", "short_output", "error", "created_at")
    readonly_fields = fields

    @admin.display(description="output")
    def short_output(self, obj: Step) -> str:
        text = obj.output or ""
        return text if len(text) <= 200 else text[:200] + "…"


class WaitInline(ReadOnlyInline):
    model = Wait
    fields = ("kind", "step_key", "due_at", "expires_at", "topic", "created_at")
    readonly_fields = fields


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ("step_key", "answered_by", "channel", "data", "answered_at")
    readonly_fields = fields


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ("step_key", "channel", "status", "detail", "created_at")
    readonly_fields = fields


def live_trace_url(execution_id: str) -> str | None:
    """The web UI's page of an execution, if the host project serves the UI."""
    try:
        return reverse("polos_ui:execution", args=[execution_id])
    except NoReverseMatch:
        return None


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "workflow_id",
        "status",
        "workflow_type",
        "attempt",
        "retry_count",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "workflow_type", "workflow_id")
    search_fields = ("id", "workflow_id", "session_id", "user_id", "root_execution_id")
    date_hierarchy = "created_at"
    inlines = [WaitInline, StepInline, ApprovalInline, NotificationInline]
    actions = ["cancel_executions"]
    list_select_related = False
    show_full_result_count = False
    readonly_fields = (
        "id",
        "workflow_id",
        "workflow_type",
        "status",
        "project_id",
        "parent_link",
        "root_execution_id",
        "root_workflow_id",
        "step_key",
        "session_id",
        "user_id",
        "queue_name",
        "concurrency_key",
        "payload",
        "result",
        "error",
        "state",
        "retry_count",
        "attempt",
        "run_timeout_seconds",
        "run_seconds",
        "cancel_requested",
        "lease_owner",
        "lease_expires_at",
        "created_at",
        "started_at",
        "finished_at",
        "live_trace",
        "events_link",
        "recent_events",
    )
    exclude = ("parent", "initial_state", "lease_token", "rung_at", "batch_index")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing only: executions change through the runtime, never by hand.
        return False

    @admin.display(description="parent")
    def parent_link(self, obj: Execution) -> str:
        if not obj.parent_id:
            return "-"
        return format_html('<a href="../../{}/change/">{}</a>', obj.parent_id, obj.parent_id)

    @admin.display(description="events")
    def events_link(self, obj: Execution) -> str:
        return format_html('<a href="../../../event/?topic={}">events of this run</a>', obj.topic)

    @admin.display(description="live trace")
    def live_trace(self, obj: Execution) -> str:
        url = live_trace_url(obj.id)
        return format_html('<a href="{}">open the live trace</a>', url) if url else "-"

    @admin.display(description="latest events")
    def recent_events(self, obj: Execution) -> str:
        rows = list(Event.objects.filter(execution_id=obj.id).order_by("-id")[:30])
        if not rows:
            return "-"
        items = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((e.id, e.event_type or "", e.created_at) for e in rows)
        )
        return format_html("<table><tr><th>id</th><th>type</th><th>at</th></tr>{}</table>", items)

    @admin.action(description="Cancel selected executions (and their children)", permissions=["cancel"])
    def cancel_executions(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        store = get_store()
        cancelled = sum(store.cancel(execution.id) for execution in queryset)
        skipped = queryset.count() - cancelled
        self.message_user(request, f"Cancelled {cancelled} execution(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} had already finished and were left as they are.", messages.WARNING)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("polos.cancel_execution")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "event_type", "execution_id", "created_at")
    list_filter = ("event_type",)
    search_fields = ("topic", "execution_id")
    readonly_fields = ("id", "project_id", "topic", "event_type", "data", "execution_id", "created_at")
    show_full_result_count = False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup == "topic" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "created_at")
    search_fields = ("id", "name")
    readonly_fields = ("id", "created_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """API keys: created here or with ``polos createkey`` (the only time the plaintext is shown), revoked."""

    list_display = ("prefix", "name", "project", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "project__id", "project__name")
    exclude = ("hashed_key",)
    readonly_fields = ("id", "prefix", "project", "created_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("project", "name") if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        from . import keys

        key, plaintext = keys.create_key(obj.project, obj.name)
        for name in ("id", "prefix", "hashed_key", "created_at"):
            setattr(obj, name, getattr(key, name))
        obj._state.adding, obj._state.db = False, key._state.db
        self.message_user(
            request, f"API key created: {plaintext} — copy it now, it is not shown again.", messages.WARNING
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        from . import keys

        for key in queryset:
            keys.revoke_key(key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


# --- approvals ------------------------------------------------------------------------------------


def _suspend_data(obj: Any) -> dict[str, Any]:
    raw = getattr(obj, "suspend_data", None)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@admin.register(PendingApproval)
class PendingApprovalAdmin(admin.ModelAdmin):
    """The inbox: suspends waiting for a person. Answering needs ``polos.answer_pendingapproval``."""

    list_display = ("title", "workflow", "step_key", "execution_link", "created_at", "expires_at", "answer_link")
    search_fields = ("step_key", "execution__id", "execution__workflow_id")
    actions = ["approve_selected", "reject_selected"]
    list_select_related = ("execution",)
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[PendingApproval]:
        suspend = Event.objects.filter(
            execution_id=OuterRef("execution_id"),
            event_type=Concat(Value("suspend_", output_field=CharField()), OuterRef("step_key")),
        ).order_by("-id")
        return super().get_queryset(request).annotate(suspend_data=Subquery(suspend.values("data")[:1]))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        title = "Pending approvals: select to approve or reject, or open one to answer its form"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    # Pending approvals are answered, never added, edited or deleted by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_answer_permission(request) or super().has_view_permission(request, obj)

    def has_answer_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(ANSWER_PERMISSION))

    @admin.display(description="request")
    def title(self, obj: PendingApproval) -> str:
        return FormSpec.from_suspend(_suspend_data(obj)).title

    @admin.display(description="workflow", ordering="execution__workflow_id")
    def workflow(self, obj: PendingApproval) -> str:
        return obj.execution.workflow_id

    @admin.display(description="execution")
    def execution_link(self, obj: PendingApproval) -> str:
        url = reverse("admin:polos_execution_change", args=[obj.execution_id])
        return format_html('<a href="{}">{}</a>', url, obj.execution_id)

    @admin.display(description="")
    def answer_link(self, obj: PendingApproval) -> str:
        url = reverse("admin:polos_pendingapproval_answer", args=[obj.pk])
        return format_html('<a class="button" href="{}">Answer…</a>', url)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.answer_view)
        return [path("<int:pk>/answer/", view, name="polos_pendingapproval_answer"), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:polos_pendingapproval_answer", args=[object_id]))

    def answer_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The suspend's form inside the admin (for forms richer than approve / reject)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        wait = get_object_or_404(PendingApproval.objects.select_related("execution"), pk=pk)
        suspend = service.find_suspend(wait.execution_id, wait.step_key)
        can_answer = self.has_answer_permission(request)
        form = SuspendForm(suspend.spec, request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not can_answer:
                raise PermissionDenied
            if form.is_valid():
                try:
                    service.answer(wait.execution_id, wait.step_key, form.resume_data(),
                                   answered_by=request.user.get_username(), channel="admin")  # fmt: skip
                except PolosError as exc:
                    self.message_user(request, f"Not answered: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"Answered {wait.step_key} of {wait.execution_id}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:polos_pendingapproval_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": suspend.spec.title,
            "opts": self.model._meta,
            "wait": wait,
            "suspend": suspend,
            "spec": suspend.spec,
            "form": form,
            "context_items": context_items(suspend.spec.context),
            "can_answer": can_answer,
            "live_trace": live_trace_url(wait.execution_id),
        }
        return TemplateResponse(request, "polos/approvals/admin_answer.html", context)

    def _answer_many(self, request: HttpRequest, queryset: QuerySet[PendingApproval], approved: bool) -> None:
        done, skipped = 0, []
        for wait in queryset.select_related("execution"):
            spec = FormSpec.from_suspend(_suspend_data(wait))
            if not spec.approve_buttons:
                skipped.append(f"{wait.step_key} (a form: answer it on its page)")
                continue
            defaults = SuspendForm(spec)
            data = {name: field.initial for name, field in defaults.fields.items() if field.initial is not None}
            form = SuspendForm(spec, {**_as_post(spec, data), "approved": "true" if approved else "false"})
            if not form.is_valid():
                skipped.append(f"{wait.step_key} (needs {', '.join(form.errors)})")
                continue
            try:
                service.answer(wait.execution_id, wait.step_key, form.resume_data(),
                               answered_by=request.user.get_username(), channel="admin")  # fmt: skip
            except PolosError as exc:
                skipped.append(f"{wait.step_key} ({exc})")
                continue
            done += 1
        verb = "Approved" if approved else "Rejected"
        self.message_user(request, f"{verb} {done} request(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, "Left open: " + "; ".join(skipped), messages.WARNING)

    @admin.action(description="Approve selected requests", permissions=["answer"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[PendingApproval]) -> None:
        self._answer_many(request, queryset, True)

    @admin.action(description="Reject selected requests", permissions=["answer"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[PendingApproval]) -> None:
        self._answer_many(request, queryset, False)


def _as_post(spec: FormSpec, data: dict[str, Any]) -> dict[str, Any]:
    """Form defaults as posted values (a checkbox that is off is simply absent)."""
    posted: dict[str, Any] = {}
    for f in spec.fields:
        value = data.get(f.key)
        if f.type == "boolean":
            if value:
                posted[f.key] = "on"
        elif value is not None:
            posted[f.key] = str(value)
    return posted


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    """Answered suspends: who, when, through what, with what."""

    list_display = ("step_key", "execution_id", "answered_by", "channel", "answered_at")
    list_filter = ("channel",)
    search_fields = ("step_key", "execution__id", "answered_by")
    readonly_fields = ("execution", "step_key", "answered_by", "channel", "data", "answered_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("channel", "status", "step_key", "execution_id", "created_at")
    list_filter = ("channel", "status")
    search_fields = ("execution__id", "step_key")
    readonly_fields = ("execution", "step_key", "channel", "status", "detail", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EventTrigger)
class EventTriggerAdmin(admin.ModelAdmin):
    """Written by workers from ``@workflow(trigger_on_event=...)``; delete the trigger of a workflow
    that was removed from the code (a worker removes those whose trigger was removed)."""

    list_display = ("workflow_id", "topic", "batch_size", "batch_timeout_seconds", "queue_name", "updated_at")
    search_fields = ("workflow_id", "topic")
    readonly_fields = (
        "workflow_id",
        "topic",
        "batch_size",
        "batch_timeout_seconds",
        "queue_name",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
