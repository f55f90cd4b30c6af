"""The UI pages: staff only, filters and keyset pages, the execution page, XSS stays inert."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.ui.conftest import add_event, make_execution

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PAGES = ["", "sessions/", "registry/", "schedules/", "queues/", "events/"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_admin_login(page: str) -> None:
    response = Client().get(f"/ui/{page}")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_users_who_are_not_staff_cannot_see_the_ui(django_user_model: Any) -> None:
    client = Client()
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    assert client.get("/ui/").status_code == 302


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_staff(staff_client: Client, page: str) -> None:
    make_execution(session_id="s-1", payload={"input": "hi"}, result={"result": "hello"})
    response = staff_client.get(f"/ui/{page}")
    assert response.status_code == 200
    assert b"<nav" in response.content


def test_executions_list_filters_by_status_workflow_and_search(staff_client: Client) -> None:
    done = make_execution("billing", "completed")
    failed = make_execution("billing", "failed")
    other = make_execution("shipping", "waiting", session_id="sess-42")
    body = staff_client.get("/ui/", {"status": "failed"}).content.decode()
    assert failed.id[:10] in body and done.id[:10] not in body
    body = staff_client.get("/ui/", {"workflow": "shipping"}).content.decode()
    assert other.id[:10] in body and done.id[:10] not in body
    body = staff_client.get("/ui/", {"q": "sess-42"}).content.decode()
    assert other.id[:10] in body and failed.id[:10] not in body
    body = staff_client.get("/ui/", {"q": done.id[:8]}).content.decode()
    assert done.id[:10] in body and other.id[:10] not in body
    assert "1 waiting" in " ".join(staff_client.get("/ui/").content.decode().split())


def test_child_executions_are_listed_only_on_request(staff_client: Client) -> None:
    parent = make_execution("parent_wf")
    child = make_execution("child_wf", parent=parent)
    assert child.id[:10] not in staff_client.get("/ui/").content.decode()
    assert child.id[:10] in staff_client.get("/ui/", {"scope": "all"}).content.decode()


def test_bad_filters_are_explained_not_crashed_on(staff_client: Client) -> None:
    make_execution()
    response = staff_client.get("/ui/", {"status": "exploded", "before": "yesterday"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "unknown status &#x27;exploded&#x27;" in body
    assert "page cursor is not valid" in body


def test_keyset_pages_walk_every_execution_once(staff_client: Client, django_assert_max_num_queries: Any) -> None:
    from polos_django.ui.queries import PAGE_SIZE

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    made = [make_execution(created_at=start + dt.timedelta(seconds=i // 2)) for i in range(PAGE_SIZE * 2 + 7)]
    expected = [e.id for e in sorted(made, key=lambda e: (e.created_at, e.id), reverse=True)]
    from polos_django.ui import queries

    seen: list[str] = []
    filters = queries.ExecutionFilters.parse({})
    pages = 0
    while True:
        page = queries.execution_page(filters)
        seen.extend(row["id"] for row in page.rows)
        pages += 1
        if page.older is None:
            break
        filters = queries.ExecutionFilters.parse({"before": page.older})
    assert seen == expected and pages == 3
    # Back from the last page: "newer" returns the page before it, in the same order.
    back = queries.execution_page(queries.ExecutionFilters.parse({"after": page.newer}))
    assert [r["id"] for r in back.rows] == expected[PAGE_SIZE : 2 * PAGE_SIZE]
    with django_assert_max_num_queries(4):  # session + user + page + active counts
        response = staff_client.get("/ui/")
    assert "Older" in response.content.decode()


def test_execution_page_shows_summary_steps_children_and_timeline(staff_client: Client) -> None:
    from polos_django.models import Step

    execution = make_execution("report", payload={"n": 3}, result={"total": 6})
    Step.objects.create(execution=execution, key="load", kind="run", status="completed", output='{"rows": 3}')
    child = make_execution("child_wf", parent=execution, step_key="spawn")
    add_event(execution, "workflow_start", {"execution_id": execution.id, "workflow_id": "report"})
    add_event(
        execution,
        "step_finish",
        {
            "step_key": "load",
            "step_type": "run",
            "status": "completed",
            "execution_id": execution.id,
            "duration_ms": 12.5,
        },
    )
    add_event(
        execution,
        "llm_call",
        {
            "model": "m-1",
            "prompt": "Add them",
            "response": {"text": "6"},
            "usage": {"input_tokens": 10, "output_tokens": 2},
            "cost_usd": 0.0001,
            "execution_id": execution.id,
        },
    )
    add_event(execution, "custom_thing", {"anything": [1, 2]})
    body = staff_client.get(f"/ui/executions/{execution.id}/").content.decode()
    for text in (
        "report",
        "Step load",
        "12.5 ms",
        "LLM llm call",
        "10 in / 2 out",
        "custom_thing",
        "&quot;anything&quot;",
        "&quot;total&quot;: 6",
        child.id[:10],
    ):
        assert text in body, text
    assert 'data-socket="/ws/ui/executions/' in body


def test_llm_calls_show_their_response_reasoning_tokens_and_cost(staff_client: Client) -> None:
    from polos_django.models import Step

    agent = make_execution("coder", workflow_type="agent")
    response = {
        "content": [{"type": "reasoning", "text": "Think <first>"}, {"type": "text", "text": "Here it is"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1200, "output_tokens": 34},
        "model": "claude-sonnet-4-5",
        "cost_usd": 0.004,
    }
    Step.objects.create(execution=agent, key="llm_1", kind="llm", status="completed", output=json.dumps(response))
    add_event(
        agent,
        "step_finish",
        {
            "step_key": "llm_1",
            "step_type": "llm",
            "status": "completed",
            "execution_id": agent.id,
            "duration_ms": 850.0,
        },
    )
    body = staff_client.get(f"/ui/executions/{agent.id}/").content.decode()
    for text in (
        "LLM call llm_1",
        "claude-sonnet-4-5",
        "Think &lt;first&gt;",
        "Here it is",
        "1200 in / 34 out",
        "$0.004000",
    ):
        assert text in body, text


def test_agent_llm_calls_read_prompt_and_reply_from_the_conversation_log(staff_client: Client) -> None:
    from polos_django.models import AgentMessage, Step

    agent = make_execution("coder", workflow_type="agent")
    Step.objects.create(
        execution=agent,
        key="agent_setup",
        kind="agent_setup",
        status="completed",
        output=json.dumps({"conversation_id": "conv-ui-1"}),
    )
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Create <b>hello.js</b>"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "Need a file first"},
                {"type": "tool_use", "id": "t1", "name": "write", "input": {"path": "hello.js"}},
            ],
        },
    ]
    for position, message in enumerate(messages):
        AgentMessage.objects.create(conversation_id="conv-ui-1", position=position, data=json.dumps(message))
    ref = {
        "pos": 1,
        "usage": {"input_tokens": 50, "output_tokens": 9},
        "stop_reason": "tool_use",
        "model": "claude-sonnet-4-5",
        "cost_usd": 0.0002,
    }
    Step.objects.create(execution=agent, key="llm_1", kind="llm", status="completed", output=json.dumps(ref))
    add_event(
        agent, "step_finish", {"step_key": "llm_1", "step_type": "llm", "status": "completed", "execution_id": agent.id}
    )
    body = staff_client.get(f"/ui/executions/{agent.id}/").content.decode()
    for text in (
        "Prompt (user)",
        "Create &lt;b&gt;hello.js&lt;/b&gt;",
        "Need a file first",
        "&quot;write&quot;",
        "50 in / 9 out",
        "tool_use",
    ):
        assert text in body, text


def test_the_details_refresh_skips_the_timeline(staff_client: Client) -> None:
    from polos_django.models import Step

    execution = make_execution("refresh", "running")
    Step.objects.create(execution=execution, key="only", kind="run", status="completed", output="1")
    add_event(execution, "custom_marker", {"x": 1})
    full = staff_client.get(f"/ui/executions/{execution.id}/").content.decode()
    partial = staff_client.get(f"/ui/executions/{execution.id}/", {"partial": "details"}).content.decode()
    assert "custom_marker" in full and "custom_marker" not in partial
    assert 'id="exec-details"' in partial and "Steps (1)" in partial


def test_unknown_execution_is_a_404(staff_client: Client) -> None:
    assert staff_client.get("/ui/executions/nope/").status_code == 404


def test_html_in_event_data_and_forms_is_rendered_inert(staff_client: Client) -> None:
    execution = make_execution("xss", "waiting", result=XSS)
    add_event(execution, "tool_finish", {"tool_name": XSS, "output": {"stdout": XSS}, "execution_id": execution.id})
    add_event(
        execution,
        f"suspend_{'ok'}",
        {
            "_form": {
                "title": XSS,
                "fields": [{"key": "a", "type": "text", "label": XSS}],
                "context": {"command": XSS, "diff": "--- a\n+++ b\n+" + XSS},
            },
            "_approval_url": "javascript:alert(1)",
        },
    )
    body = staff_client.get(f"/ui/executions/{execution.id}/").content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(" in body
    assert "javascript:alert" not in body  # not a link: only http(s) and site paths are linked


def test_session_page_shows_the_conversation(staff_client: Client) -> None:
    first = make_execution(
        "helper", session_id="chat-1", payload={"input": "What is 2+2?"}, result={"result": "4"}, workflow_type="agent"
    )
    add_event(first, "tool_start", {"tool_name": "calculator", "input": {"expr": "2+2"}, "execution_id": first.id})
    make_execution(
        "helper",
        session_id="chat-1",
        payload={"input": [{"role": "user", "content": "And 3+3?"}]},
        result={"result": "6"},
        workflow_type="agent",
    )
    assert "chat-1" in staff_client.get("/ui/sessions/").content.decode()
    body = staff_client.get("/ui/sessions/chat-1/").content.decode()
    for text in ("What is 2+2?", "calculator", "And 3+3?", ">6<"):
        assert text in body, text
    assert staff_client.get("/ui/sessions/none-such/").status_code == 404


def test_session_page_reads_the_agents_conversation_log(staff_client: Client) -> None:
    from polos_django.models import AgentMessage, Step

    runs = [make_execution("coder", session_id="chat-log", workflow_type="agent") for _ in range(2)]
    for run, start in zip(runs, (0, 4), strict=True):
        Step.objects.create(
            execution=run,
            key="agent_setup",
            kind="agent_setup",
            status="completed",
            output=json.dumps({"conversation_id": "c-log", "start": start}),
        )
    log = [
        {"role": "user", "content": [{"type": "text", "text": "List files"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "glob", "input": {"pattern": "*"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "<a.txt>"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "One file."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "You are welcome."}]},
    ]
    for position, message in enumerate(log):
        AgentMessage.objects.create(conversation_id="c-log", position=position, data=json.dumps(message))
    body = staff_client.get("/ui/sessions/chat-log/").content.decode()
    first, second = body.split('class="turn"')[1:3]
    for text in ("List files", "tool call", "&quot;glob&quot;", "tool result", "&lt;a.txt&gt;", "One file."):
        assert text in first, text
    assert "Thanks" in second and "You are welcome." in second and "List files" not in second


def test_registry_lists_registered_workflows(staff_client: Client) -> None:
    body = staff_client.get("/ui/registry/").content.decode()
    assert "dj_steps" in body  # tests.sampleapp.workflows, autodiscovered


def test_events_page_lists_topics_and_a_topic(staff_client: Client) -> None:
    execution = make_execution("topics")
    add_event(execution, "hello", {"n": 1})
    assert execution.topic in staff_client.get("/ui/events/").content.decode()
    body = staff_client.get("/ui/events/", {"topic": execution.topic}).content.decode()
    assert "hello" in body and "&quot;n&quot;: 1" in body


def test_queues_page_counts_active_executions_per_queue(staff_client: Client) -> None:
    make_execution("q", "queued", queue_name="emails")
    make_execution("q", "running", queue_name="emails", lease_owner="host:1")
    make_execution("q", "waiting", queue_name="emails", project_id="other")
    body = " ".join(staff_client.get("/ui/queues/").content.decode().split())
    assert '<td class="mono">emails</td><td>1</td><td>1</td><td>0</td>' in body  # project "default" only
    other = " ".join(staff_client.get("/ui/queues/", {"project": "other"}).content.decode().split())
    assert '<td class="mono">emails</td><td>0</td><td>0</td><td>1</td>' in other


def test_schedules_page_lists_beat_tasks_and_workflow_schedules(staff_client: Client) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from polos_django.models import Schedule

    crontab = CrontabSchedule.objects.create(
        minute="*/5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.create(name="nightly-report", task="polos.schedule_tick", crontab=crontab)
    Schedule.objects.create(workflow_id="ui_nightly", cron="0 3 * * *", last_occurrence=dt.datetime.now(dt.UTC))
    body = " ".join(staff_client.get("/ui/schedules/").content.decode().split())
    assert "nightly-report" in body and "*/5 * * * *" in body
    assert "ui_nightly" in body and "0 3 * * *" in body and "next occurrence" in body


def test_cancel_needs_the_permission(staff_client: Client, staff: Any) -> None:
    from django.contrib.auth.models import Permission

    execution = make_execution("c", "waiting")
    staff_client.post(f"/ui/executions/{execution.id}/cancel/")
    execution.refresh_from_db()
    assert execution.status == "waiting"
    staff.user_permissions.add(Permission.objects.get(codename="cancel_execution"))
    response = staff_client.post(f"/ui/executions/{execution.id}/cancel/", follow=True)
    execution.refresh_from_db()
    assert execution.status == "cancelled"
    assert "Cancellation of" in response.content.decode()
