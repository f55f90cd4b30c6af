"""The approval page and the admin inbox in Chromium (Playwright), against the live ASGI server."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from polos_django import client
from polos_django.approvals import links
from polos_django.models import Approval, PendingApproval
from tests.approvals.conftest import suspend_data

pytestmark = pytest.mark.browser


@pytest.mark.browser(mobile=True)
def test_fill_every_field_type_on_a_phone_and_the_workflow_finishes(app_server, suspended, page, screenshot):
    handle = suspended("approvals_form")
    page.goto(app_server.local(suspend_data(handle, "review")["_approval_url"]))
    screenshot(page, "approval-page-mobile")
    # Labels, context and tool output with HTML/JS are inert text.
    assert page.evaluate("window.pwned") is None
    assert page.get_by_role("heading", level=1).inner_text() == "Deploy <b>v2</b> to production?"
    assert page.locator("pre.code").inner_text().startswith("kubectl rollout restart")
    assert page.locator(".d-add").inner_text() == "+print('<script>alert(1)</script>')"
    # Every control has a label a screen reader announces.
    unlabeled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]),textarea,select')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"
    )
    assert unlabeled == []
    # A required field left empty: the error is on that field and focus goes there.
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector(".field-text.has-error .error")
    assert page.evaluate("document.activeElement.name") == "reason"
    screenshot(page, "approval-page-validation")
    page.get_by_label("Reason <script>window.pwned=1</script>").fill("ship it")
    page.get_by_label("Notes").fill("watch the error rate\nfor an hour")
    page.get_by_label("Replicas").fill("4")
    page.get_by_label("Tell the team").uncheck()
    page.get_by_label("Region").select_option(label="United States")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=your answer was sent")
    assert "Already answered" in page.content()
    screenshot(page, "approval-page-answered")
    assert client.wait_for_result(handle.id, timeout=30) == {
        "answer": {
            "approved": True,
            "reason": "ship it",
            "notes": "watch the error rate\nfor an hour",
            "replicas": 4,
            "notify_team": False,
            "region": "us",
        }
    }
    assert Approval.objects.get(execution_id=handle.id).channel == "page"


def test_keyboard_only_reject(app_server, suspended, page):
    handle = suspended("approvals_simple", {"amount": 9})
    page.goto(app_server.local(suspend_data(handle, "approve")["_approval_url"]))
    page.get_by_label("Comment").focus()
    page.keyboard.type("not this month")
    page.keyboard.press("Tab")  # -> Approve
    page.keyboard.press("Tab")  # -> Reject
    assert page.evaluate("document.activeElement.textContent") == "Reject"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=your answer was sent")
    assert client.wait_for_result(handle.id, timeout=30) == {
        "answer": {"approved": False, "feedback": "not this month"}
    }


def test_forged_and_expired_links_show_clear_pages(app_server, suspended, page, screenshot):
    handle = suspended("approvals_simple")
    good = suspend_data(handle, "approve")["_approval_url"]
    forged = good.replace("/approve/", "/approve/x", 1)
    response = page.goto(app_server.local(forged))
    assert response.status == 404 and page.get_by_role("heading", level=1).inner_text() == "This link is not valid"
    screenshot(page, "approval-link-forged")
    expired = links.approval_url(handle.id, "approve", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    response = page.goto(app_server.local(expired))
    assert response.status == 410 and "This request has expired" in page.content()
    screenshot(page, "approval-link-expired")
    assert PendingApproval.objects.filter(execution_id=handle.id).exists()


def test_admin_bulk_approve_in_the_browser(app_server, suspended, page, screenshot):
    handles = [suspended("approvals_simple", {"amount": i}) for i in (10, 20)]
    User.objects.create_superuser("boss", password="a-long-password")
    page.goto(f"{app_server.url}/admin/login/?next=/admin/polos/pendingapproval/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#result_list")
    screenshot(page, "admin-pending-approvals")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("approve_selected")
    page.get_by_role("button", name="Go").click()
    page.wait_for_selector("text=Approved 2 request(s).")
    for handle in handles:
        assert client.wait_for_result(handle.id, timeout=30)["answer"]["approved"] is True
    assert set(Approval.objects.values_list("answered_by", flat=True)) == {"boss"}
