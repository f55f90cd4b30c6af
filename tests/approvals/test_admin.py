"""The admin: the pending approvals inbox (bulk approve / reject, the form view), permissions,
executions with their approvals and live-trace link, API keys, schedules."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from polos_django import client
from polos_django.models import ApiKey, Approval, PendingApproval, Project

pytestmark = pytest.mark.usefixtures("approval_urls")


def staff_client(*codenames: str) -> tuple[Client, User]:
    user = User.objects.create_user(f"staff{User.objects.count()}", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    browser = Client()
    browser.force_login(user)
    return browser, user


def test_inbox_bulk_approve_answers_simple_requests_and_leaves_forms_open(suspended):
    simple = [suspended("approvals_simple", {"amount": i}) for i in (1, 2)]
    rich = suspended("approvals_form")  # a form with required fields: needs its own page
    browser, user = staff_client("view_pendingapproval", "answer_pendingapproval", "view_execution")
    inbox = browser.get("/admin/polos/pendingapproval/")
    html = inbox.content.decode()
    assert inbox.status_code == 200 and "approve_selected" in html
    assert "Deploy &lt;b&gt;v2&lt;/b&gt; to production?" in html and "Approval needed" in html
    ids = list(PendingApproval.objects.values_list("pk", flat=True))
    assert len(ids) == 3
    done = browser.post(
        "/admin/polos/pendingapproval/", {"action": "approve_selected", "_selected_action": ids}, follow=True
    )
    page = done.content.decode()
    assert "Approved 2 request(s)." in page and "Left open: review (needs reason)" in page
    for handle in simple:
        assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": True, "feedback": ""}}
        approval = Approval.objects.get(execution_id=handle.id)
        assert approval.answered_by == user.username and approval.channel == "admin"
    assert list(PendingApproval.objects.values_list("execution_id", flat=True)) == [rich.id]


def test_bulk_reject(suspended):
    handle = suspended("approvals_simple")
    browser, _ = staff_client("view_pendingapproval", "answer_pendingapproval")
    ids = list(PendingApproval.objects.values_list("pk", flat=True))
    browser.post("/admin/polos/pendingapproval/", {"action": "reject_selected", "_selected_action": ids})
    assert client.wait_for_result(handle.id, timeout=30)["answer"]["approved"] is False


def test_form_view_answers_a_rich_form(suspended):
    handle = suspended("approvals_form")
    browser, user = staff_client("view_pendingapproval", "answer_pendingapproval")
    wait = PendingApproval.objects.get(execution_id=handle.id)
    url = f"/admin/polos/pendingapproval/{wait.pk}/answer/"
    page = browser.get(url).content.decode()
    assert 'name="reason"' in page and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert f"/ui/executions/{handle.id}/" in page  # the live trace
    invalid = browser.post(url, {"approved": "true", "replicas": "x", "region": "0"})
    assert invalid.status_code == 200 and "Enter a number." in invalid.content.decode()
    answered = browser.post(url, {"approved": "true", "reason": "ok", "replicas": "2", "region": "1"}, follow=True)
    assert f"Answered review of {handle.id}" in answered.content.decode()
    result = client.wait_for_result(handle.id, timeout=30)["answer"]
    assert result["replicas"] == 2 and result["region"] == "us" and result["approved"] is True
    assert Approval.objects.get(execution_id=handle.id).answered_by == user.username


def test_answering_needs_the_permission(suspended):
    handle = suspended("approvals_simple")
    browser, _ = staff_client("view_pendingapproval")
    inbox = browser.get("/admin/polos/pendingapproval/").content.decode()
    assert "approve_selected" not in inbox
    wait = PendingApproval.objects.get(execution_id=handle.id)
    page = browser.get(f"/admin/polos/pendingapproval/{wait.pk}/answer/").content.decode()
    assert "may look at this request but not answer it" in page
    assert browser.post(f"/admin/polos/pendingapproval/{wait.pk}/answer/", {"approved": "true"}).status_code == 403
    browser.post("/admin/polos/pendingapproval/", {"action": "approve_selected", "_selected_action": [wait.pk]})
    assert PendingApproval.objects.filter(pk=wait.pk).exists() and not Approval.objects.exists()
    nobody, _ = staff_client()
    assert nobody.get("/admin/polos/pendingapproval/").status_code == 403


def test_execution_page_shows_approvals_events_and_the_live_trace(suspended):
    handle = suspended("approvals_simple")
    client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
    client.wait_for_result(handle.id, timeout=30)
    admin = User.objects.create_superuser("root", password="pw")
    browser = Client()
    browser.force_login(admin)
    page = browser.get(f"/admin/polos/execution/{handle.id}/change/").content.decode()
    assert f'href="/ui/executions/{handle.id}/"' in page
    assert "suspend_approve" in page and "resume_approve" in page and "workflow_finish" in page


@pytest.mark.django_db(transaction=True)
def test_api_key_created_in_the_admin_is_shown_once_and_works():
    from polos_django import keys

    project = Project.objects.create(id="p1", name="one")
    admin = User.objects.create_superuser("root", password="pw")
    browser = Client()
    browser.force_login(admin)
    page = browser.post("/admin/polos/apikey/add/", {"project": "p1", "name": "ci"}, follow=True).content.decode()
    key = ApiKey.objects.get(name="ci")
    plaintext = page.split("API key created: ", 1)[1].split(" ", 1)[0]
    assert keys.verify_key(plaintext) == key and key.project == project
    assert key.hashed_key not in browser.get(f"/admin/polos/apikey/{key.pk}/change/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_schedules_are_django_celery_beats_admin():
    admin = User.objects.create_superuser("root", password="pw")
    browser = Client()
    browser.force_login(admin)
    assert browser.get("/admin/django_celery_beat/periodictask/").status_code == 200
