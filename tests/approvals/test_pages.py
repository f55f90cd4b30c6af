"""The approval page with Django's test client: forms, validation, single use, bad links, XSS."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from polos_django import client
from polos_django.approvals import links
from polos_django.models import Approval, Wait
from tests.approvals.conftest import approval_path, suspend_data

pytestmark = pytest.mark.usefixtures("approval_urls")


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_page_renders_every_field_and_the_context_inert(suspended):
    handle = suspended("approvals_form")
    response = Client().get(approval_path(handle, "review"))
    assert response.status_code == 200
    html = response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY" and response["Referrer-Policy"] == "same-origin"
    for name in ("reason", "notes", "replicas", "notify_team", "region"):
        assert f'name="{name}"' in html
    assert '<label for="id_reason">' in html
    assert 'value="true" class="btn btn-approve">Approve' in html  # the boolean "approved" as buttons
    # Title, labels, command, diff and tool output are shown as text, never as markup.
    assert "<script>" not in html.replace('<script src="/static/polos/approvals/approvals.js" defer></script>', "")
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "&lt;b&gt;v2&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<pre class="code"><code>kubectl rollout restart' in html
    assert '<span class="d-add">+print(&#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;)</span>' in html
    assert '<span class="d-del">' in html
    assert 'value="3"' in html  # number default
    assert '<option value="0" selected>Europe</option>' in html  # select default


def test_validation_errors_are_shown_on_the_field_and_nothing_resumes(suspended):
    handle = suspended("approvals_form")
    path = approval_path(handle, "review")
    browser = csrf_client()
    token = csrf_token(browser.get(path).content.decode())
    response = browser.post(
        path, {"csrfmiddlewaretoken": token, "approved": "true", "replicas": "many", "region": "0", "reason": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'field-text has-error">\s*<label for="id_reason">', html)
    assert re.search(r'field-number has-error">', html) and "Enter a number." in html
    assert 'aria-invalid="true"' in html
    assert Wait.objects.filter(execution_id=handle.id, step_key="review").exists()


def test_submit_resumes_with_typed_data_and_the_link_works_once(suspended):
    handle = suspended("approvals_form")
    path = approval_path(handle, "review")
    browser = csrf_client()
    token = csrf_token(browser.get(path).content.decode())
    form = {"csrfmiddlewaretoken": token, "reason": "looks good", "notes": "line 1\nline 2", "replicas": "5",
            "region": "1", "approved": "false"}  # fmt: skip
    response = browser.post(path, form)
    assert response.status_code == 302 and response["Location"].endswith("?answered=1")
    result = client.wait_for_result(handle.id, timeout=30)
    assert result == {
        "answer": {
            "approved": False,
            "reason": "looks good",
            "notes": "line 1\nline 2",
            "replicas": 5,
            "notify_team": False,
            "region": "us",
        }
    }
    approval = Approval.objects.get(execution_id=handle.id, step_key="review")
    assert approval.channel == "page" and approval.answered_by == "someone with the approval link"
    done = browser.get(response["Location"])
    assert done.status_code == 200 and b"your answer was sent" in done.content
    # A second submit (another tab, a replayed request) is refused: the page says who answered.
    again = browser.post(path, form)
    assert again.status_code == 200
    assert b"Already answered" in again.content and b"someone with the approval link" in again.content
    assert Approval.objects.filter(execution_id=handle.id).count() == 1


def test_post_without_csrf_token_is_refused(suspended):
    handle = suspended("approvals_simple")
    response = csrf_client().post(approval_path(handle, "approve"), {"approved": "true"})
    assert response.status_code == 403
    assert Wait.objects.filter(execution_id=handle.id).exists()


def test_simple_suspend_gets_approve_and_reject(suspended):
    handle = suspended("approvals_simple", {"amount": 42, "extra": {"note": "<i>hi</i>"}})
    path = approval_path(handle, "approve")
    browser = csrf_client()
    html = browser.get(path).content.decode()
    assert "Approve" in html and "Reject" in html and "&lt;i&gt;hi&lt;/i&gt;" in html and "42" in html
    browser.post(path, {"csrfmiddlewaretoken": csrf_token(html), "approved": "true", "feedback": "ok"})
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": True, "feedback": "ok"}}


def test_answered_through_the_api_shows_when(suspended):
    handle = suspended("approvals_simple")
    client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
    response = Client().get(approval_path(handle, "approve"))
    assert response.status_code == 200 and b"Already answered" in response.content and b"the API" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    ["nonsense", links.make_token("x", "y") + "tampered", links.make_token("x", "y").replace(":", ";", 1)],
)
def test_forged_links_get_a_clear_404(token):
    response = Client().get(f"/polos/approve/{token}/")
    assert response.status_code == 404
    assert b"This link is not valid" in response.content and b"Traceback" not in response.content


@pytest.mark.django_db
def test_a_link_signed_with_another_key_is_forged(settings):
    token = links.make_token("some-execution", "approve")
    settings.SECRET_KEY = "another-site"
    assert Client().get(f"/polos/approve/{token}/").status_code == 404


@pytest.mark.django_db
def test_unknown_execution_is_a_clear_404():
    response = Client().get(f"/polos/approve/{links.make_token('missing', 'approve')}/")
    assert response.status_code == 404 and b"no longer exists" in response.content


def test_expired_link_is_a_clear_410_and_cannot_answer(suspended):
    handle = suspended("approvals_form", {"timeout": 3600})
    data = suspend_data(handle, "review")
    assert data["_form"]["expiresAt"]
    # The hour passes: the token's expiry is what the page checks first.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    expired = links.make_token(handle.id, "review", past)
    browser = csrf_client()
    response = browser.get(f"/polos/approve/{expired}/")
    assert response.status_code == 410 and b"expired" in response.content
    Wait.objects.filter(execution_id=handle.id).update(expires_at=past)
    response = browser.get(approval_path(handle, "review"))
    assert response.status_code == 410 and b"This request has expired" in response.content


def test_short_link_redirects_to_the_page(suspended):
    handle = suspended("approvals_simple")
    token = links.make_token(handle.id, "approve")
    url = links.short_url(token)
    assert len(url.rsplit("/a/", 1)[1]) < 16
    response = Client().get(url.split("8000", 1)[1])
    assert response.status_code == 302 and response["Location"] == f"/polos/approve/{token}/"
    assert Client().get("/polos/a/nope/").status_code == 404


def test_two_answers_at_once_one_wins(suspended):
    import threading

    from django.db import connections

    from polos.exceptions import AlreadyAnsweredError
    from polos_django.approvals import service

    handle = suspended("approvals_simple")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def answer(who: str) -> None:
        try:
            barrier.wait()
            service.answer(handle.id, "approve", {"approved": who == "ann"}, answered_by=who, channel="page")
            outcomes.append("ok")
        except AlreadyAnsweredError:
            outcomes.append("already")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(who,)) for who in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["already", "ok"]
    winner = Approval.objects.get(execution_id=handle.id).answered_by
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": winner == "ann"}}


def test_a_suspend_that_timed_out_shows_expired(suspended):
    from polos_django.models import Execution
    from tests.conftest import wait_until

    handle = suspended("approvals_form", {"timeout": 1})
    path = approval_path(handle, "review")
    wait_until(lambda: Execution.objects.get(id=handle.id).status == "failed", timeout=30, message="the timeout")
    response = Client().get(path)
    assert response.status_code == 410 and b"This request has expired" in response.content
