"""The UI pages (staff only; the login is Django admin's)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from polos import tracing
from polos.serialization import MODEL_MARKER
from polos.store import FINISHED_STATUSES

from ..api.streams import event_dict
from ..models import Event, Execution, Step, Wait
from ..store import sql
from . import queries, records, registry, timeline
from .routing import SOCKET_PATH

MAX_TIMELINE_EVENTS = 5000


def _pretty(text: str | None) -> str:
    """Stored JSON text, indented for reading (as-is when it is not JSON)."""
    if text in (None, ""):
        return ""
    assert text is not None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and MODEL_MARKER in value and "value" in value:
        value = value["value"]  # a pydantic model as stored (its class named under MODEL_MARKER): show its data
    return json.dumps(value, indent=2, ensure_ascii=False)


def _error_message(text: str | None) -> str:
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        kind = data.get("type")
        message = str(data.get("message", text))
        return f"{kind}: {message}" if kind else message
    return text


@staff_member_required
def executions(request: HttpRequest) -> HttpResponse:
    """Executions, newest first: filter by status and workflow, search, keyset pages."""
    filters = queries.ExecutionFilters.parse(request.GET)
    page = queries.execution_page(filters)
    for row in page.rows:  # formatted here: template filters cost more than the page's query
        created = timezone.localtime(row["created_at"])
        row["created"], row["created_iso"] = created.strftime("%Y-%m-%d %H:%M:%S"), created.isoformat()
        row["run"] = f"{row['run_seconds']:.3f}"
    links = {
        "newest": urlencode(filters.query()),
        "newer": urlencode(filters.query(after=page.newer)) if page.newer else None,
        "older": urlencode(filters.query(before=page.older)) if page.older else None,
    }
    context = {
        "nav": "executions",
        "filters": filters,
        "rows": page.rows,
        "links": links,
        "statuses": queries.STATUSES,
        "counts": queries.active_counts(),
        "first_page": filters.before is None and filters.after is None,
        "base": reverse("polos_ui:executions"),  # row links built from it: one reverse() per page, not per row
    }
    return render(request, "polos/ui/executions.html", context)


def _tree_events(execution: Execution) -> tuple[list[dict[str, Any]], int]:
    columns = ("id", "topic", "event_type", "data", "created_at", "execution_id")
    rows = (
        Event.objects.filter(project_id=execution.project_id, topic=execution.topic)
        .order_by("id")
        .values_list(*columns)[:MAX_TIMELINE_EVENTS]
    )
    records = [sql.event_record(row) for row in rows]
    last = records[-1].sequence_id if records else 0
    return [event_dict(record) for record in records], last


@staff_member_required
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    """One execution: summary, steps, children and the live timeline of its whole tree."""
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None:
        raise Http404(f"No execution {execution_id}")
    if request.GET.get("partial") == "details":
        # The page's script refreshing the summary, steps and children: no timeline needed.
        entries, last_seq = [], 0
    else:
        events, last_seq = _tree_events(execution)
        entries = records.enrich(timeline.build(events))
    duration = None
    if execution.started_at and execution.finished_at:
        duration = (execution.finished_at - execution.started_at).total_seconds()
    context = {
        "nav": "executions",
        "execution": execution,
        "payload": _pretty(execution.payload),
        "result": _pretty(execution.result),
        "error": _error_message(execution.error),
        "state": _pretty(execution.state),
        "duration": duration,
        "steps": [
            {"step": step, "output": _pretty(step.output), "error": _error_message(step.error)}
            for step in Step.objects.filter(execution=execution).order_by("id")
        ],
        "waits": list(Wait.objects.filter(execution=execution).order_by("id")),
        "children": list(
            Execution.objects.filter(parent=execution)
            .order_by("created_at", "id")
            .values("id", "workflow_id", "status", "step_key", "created_at")[:200]
        ),
        "entries": entries,
        "totals": timeline.totals(entries),
        "last_seq": last_seq,
        "finished": execution.status in FINISHED_STATUSES,
        "socket_path": SOCKET_PATH.format(execution_id=execution.id),
        "trace_id": tracing.trace_id_hex(execution.root_execution_id or execution.id),
        "trace_link": timeline.safe_url(tracing.trace_url(execution.root_execution_id or execution.id)),
        "can_cancel": request.user.has_perm("polos.cancel_execution") and execution.status not in FINISHED_STATUSES,
    }
    return render(request, "polos/ui/execution.html", context)


@require_POST
@staff_member_required
def cancel_execution(request: HttpRequest, execution_id: str) -> HttpResponse:
    """Cancel an execution (needs the ``polos.cancel_execution`` permission)."""
    if not request.user.has_perm("polos.cancel_execution"):
        messages.error(request, "You need the 'Can cancel executions' permission to cancel executions.")
    else:
        from .. import client

        try:
            done = client.cancel(execution_id)
        except Exception as exc:  # shown to the user, never a stack trace
            messages.error(request, f"Could not cancel {execution_id}: {exc}")
        else:
            if done:
                messages.success(request, f"Cancellation of {execution_id} requested.")
            else:
                messages.info(request, f"{execution_id} had already finished.")
    return HttpResponseRedirect(reverse("polos_ui:execution", args=[execution_id]))


@staff_member_required
def session_list(request: HttpRequest) -> HttpResponse:
    """Agent sessions: executions grouped by ``session_id``."""
    return render(request, "polos/ui/sessions.html", {"nav": "sessions", "sessions": queries.sessions()})


@staff_member_required
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    """The conversation of one session, turn by turn."""
    from .conversation import session_turns

    turns = session_turns(session_id)
    if not turns:
        raise Http404(f"No session {session_id}")
    return render(request, "polos/ui/session.html", {"nav": "sessions", "session_id": session_id, "turns": turns})


@staff_member_required
def registry_page(request: HttpRequest) -> HttpResponse:
    """Workflows, agents and tools: registered here and announced by workers."""
    return render(request, "polos/ui/registry.html", {"nav": "registry", "groups": registry.grouped()})


@staff_member_required
def schedules(request: HttpRequest) -> HttpResponse:
    """Cron schedules (django-celery-beat rows, and the app's own schedule rows when it has them)."""
    context: dict[str, Any] = {"nav": "schedules", "beat_installed": apps.is_installed("django_celery_beat")}
    if context["beat_installed"]:
        from django_celery_beat.models import PeriodicTask

        context["periodic"] = list(PeriodicTask.objects.select_related("crontab", "interval").order_by("name")[:500])
    context["polos_schedules"] = registry.polos_schedules()
    return render(request, "polos/ui/schedules.html", context)


@staff_member_required
def queues(request: HttpRequest) -> HttpResponse:
    """Queues (active executions per queue, broker backlog) and workers."""
    projects = registry.project_ids()
    project_id = request.GET.get("project") or projects[0]
    context = {"nav": "queues", "projects": projects, "project": project_id, **registry.queues_and_workers(project_id)}
    return render(request, "polos/ui/queues.html", context)


@staff_member_required
def events(request: HttpRequest) -> HttpResponse:
    """Events by topic: the recent topics, or one topic's events newest first."""
    topic = request.GET.get("topic", "").strip()
    context: dict[str, Any] = {"nav": "events", "topic": topic}
    if topic:
        before_raw = request.GET.get("before", "")
        before = int(before_raw) if before_raw.isdigit() else None
        rows, older = queries.topic_events(topic, before)
        context["rows"] = [{"event": row, "data": _pretty(row.data)} for row in rows]
        context["older"] = urlencode({"topic": topic, "before": older}) if older else None
    else:
        context["topics"] = queries.recent_topics()
    return render(request, "polos/ui/events.html", context)
