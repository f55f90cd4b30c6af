"""Django admin: executions (read-only, steps and waits inline) with a cancel action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .models import ApiKey, Event, Execution, Project, Step, Wait
from .store import get_store


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
    inlines = [WaitInline, StepInline]
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
        "events_link",
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
    """API keys are created with ``polos createkey`` (the only time the plaintext is shown)."""

    list_display = ("prefix", "name", "project", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "project__id", "project__name")
    exclude = ("hashed_key",)
    readonly_fields = ("id", "prefix", "project", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        from . import keys

        for key in queryset:
            keys.revoke_key(key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)
