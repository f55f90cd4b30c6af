"""The UI in Chromium: log in, watch an execution update live on a real worker, screenshot the pages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from polos_django import client as local
from polos_django.models import Execution
from tests.conftest import wait_until
from tests.ui.conftest import make_execution

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(180)]


def log_in(page: Any, server: Any, django_user_model: Any, next_path: str = "/ui/") -> None:
    django_user_model.objects.create_user("watcher", password="pw-watch-123", is_staff=True)
    page.goto(f"{server.url}{next_path}")
    assert "/admin/login/" in page.url  # staff only: the admin's login first
    page.fill("#id_username", "watcher")
    page.fill("#id_password", "pw-watch-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.url}{next_path}")


def test_execution_page_updates_live_while_the_workflow_runs(
    app_server: Any, worker: Any, page: Any, screenshot: Any, django_user_model: Any
) -> None:
    topic = f"ui-test/{uuid.uuid4().hex[:8]}"
    handle = local.invoke("ui_live", {"topic": topic})
    wait_until(lambda: Execution.objects.filter(pk=handle.id, status="waiting").exists(), 60, message="the wait")
    log_in(page, app_server, django_user_model, f"/ui/executions/{handle.id}/")
    timeline = page.locator("#timeline")
    timeline.get_by_text("Step first").wait_for()
    page.locator("#live[data-state=live]").wait_for()
    page.evaluate("window.__sameDocument = true")

    local.publish(topic, {"event_type": "go", "data": {"from": "test"}})

    timeline.get_by_text("Step third").wait_for(timeout=60_000)
    timeline.get_by_text("ui_live completed").wait_for(timeout=30_000)
    page.locator("#live[data-state=finished]").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # no reload: the entries arrived over the socket
    page.get_by_text(
        "Steps (4)"
    ).wait_for()  # first, go (the event wait), second, third; the server-rendered parts are refreshed in place
    assert page.locator("#exec-status .st-completed").count() == 1
    assert page.evaluate("window.__pwned") is None  # the step's HTML output is shown as text
    assert "<script>window.__pwned" in timeline.inner_text()
    titles = timeline.locator(".entry .title").all_inner_texts()
    assert titles.index("Step first") < titles.index("Step second") < titles.index("Step third")
    screenshot(page, "ui-execution-live")


def test_screenshots_of_the_main_pages(app_server: Any, page: Any, screenshot: Any, django_user_model: Any) -> None:
    root = make_execution(
        "report",
        "completed",
        session_id="chat-7",
        payload={"input": "Summarise the logs"},
        result={"result": "All quiet."},
        workflow_type="agent",
    )
    make_execution("report", "failed")
    make_execution("billing", "waiting", queue_name="payments")
    log_in(page, app_server, django_user_model)
    assert page.locator("table.list tbody tr").count() == 3
    screenshot(page, "ui-executions")
    for path, name, text in (
        (f"/ui/executions/{root.id}/", "ui-execution", "Timeline"),
        ("/ui/sessions/chat-7/", "ui-session", "Summarise the logs"),
        ("/ui/registry/", "ui-registry", "Workflows"),
        ("/ui/schedules/", "ui-schedules", "Schedules"),
        ("/ui/queues/", "ui-queues", "payments"),
        ("/ui/events/", "ui-events", "Recent topics"),
    ):
        page.goto(f"{app_server.url}{path}")
        page.get_by_text(text).first.wait_for()
        screenshot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{app_server.url}/ui/")
    screenshot(page, "ui-executions-mobile")
