"""Notifications: e-mail (test outbox), SMS and Slack (local stub servers), failures in the trace,
``_notify`` overrides, Slack button clicks and mentions through the signed endpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from polos.exceptions import ConfigurationError
from polos.notifiers import Channel, SlackChannel, SlackChannelConfig
from polos.notifiers.signature import slack_signature
from polos.store import EventRecord
from polos_django import client
from polos_django.models import Approval, ChannelOrigin, Event, Notification, Wait
from polos_django.notify import dispatch
from polos_django.notify.config import build_channel
from tests.approvals.conftest import approval_path
from tests.approvals.stubs import StubApi
from tests.conftest import wait_until

SECRET = "test-signing-secret"
pytestmark = pytest.mark.usefixtures("approval_urls")


@pytest.fixture
def stub():
    server = StubApi().start()
    yield server
    server.stop()


def slack_entry(stub: StubApi, **extra: Any) -> dict[str, Any]:
    return {"type": "slack", "bot_token": "xoxb-test-token", "default_channel": "#approvals",
            "signing_secret": SECRET, "api_base_url": f"{stub.url}/api", **extra}  # fmt: skip


def sms_entry(stub: StubApi) -> dict[str, Any]:
    return {"type": "sms", "account_sid": "AC123", "auth_token": "sms-secret-token", "from_number": "+15550100",
            "to": ["+15550101"], "api_base_url": stub.url}  # fmt: skip


@pytest.fixture
def notifiers(settings):
    def configure(*entries: Any) -> None:
        settings.POLOS = {**settings.POLOS, "NOTIFIERS": list(entries)}

    return configure


def suspend_record(handle, key: str) -> EventRecord:
    row = Event.objects.filter(execution_id=handle.id, event_type=f"suspend_{key}").get()
    return EventRecord(row.id, row.topic, row.event_type, json.loads(row.data), row.created_at, row.execution_id)


def trace(handle, event_type: str) -> list[dict[str, Any]]:
    rows = Event.objects.filter(execution_id=handle.id, event_type=event_type).order_by("id")
    return [json.loads(r.data) for r in rows]


def test_email_sends_a_personal_link_and_the_answer_records_who(suspended, notifiers, mailoutbox):
    notifiers({"type": "email", "to": ["ann@example.com", "bob@example.com"]})
    handle = suspended("approvals_form")
    dispatch.deliver(suspend_record(handle, "review"))
    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bob@example.com"]
    bob = next(m for m in mailoutbox if m.to == ["bob@example.com"])
    assert bob.subject == "[Polos] Deploy <b>v2</b> to production?"  # plain text subject
    html = bob.alternatives[0][0]
    assert "&lt;b&gt;v2&lt;/b&gt;" in html and "<b>v2</b>" not in html
    link = re.search(r"(http://\S+/polos/approve/\S+/)", bob.body).group(1)
    assert link != re.search(r"(http://\S+/polos/approve/\S+/)", mailoutbox[0].body).group(1) or bob is mailoutbox[0]
    assert trace(handle, "notification_sent") == [{"channel": "email", "step_key": "review"}]
    browser = Client()
    path = urlsplit(link).path
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(path).content.decode()).group(1)
    form = {"csrfmiddlewaretoken": token, "reason": "ok", "replicas": "1", "region": "0", "approved": "true"}
    assert browser.post(path, form).status_code == 302
    assert Approval.objects.get(execution_id=handle.id).answered_by == "bob@example.com"
    assert client.wait_for_result(handle.id, timeout=30)["answer"]["approved"] is True


def test_sms_sends_a_short_link(suspended, notifiers, stub):
    notifiers(sms_entry(stub))
    handle = suspended("approvals_simple", {"extra": {"_notify": {"message": "Refund 5 EUR?"}}})
    dispatch.deliver(suspend_record(handle, "approve"))
    [sms] = stub.calls("/2010-04-01/Accounts/AC123/Messages.json")
    assert sms["body"]["To"] == "+15550101" and sms["body"]["From"] == "+15550100"
    assert sms["auth"].startswith("Basic ")
    short = re.search(r"(http://\S+/polos/a/\S+/)$", sms["body"]["Body"]).group(1)
    assert sms["body"]["Body"].startswith("Refund 5 EUR? ") and len(urlsplit(short).path) < 30
    page = Client().get(urlsplit(short).path, follow=True)
    assert page.status_code == 200 and b"Approve" in page.content
    row = Notification.objects.get(execution_id=handle.id)
    assert row.status == "sent" and "sms-secret-token" not in (row.detail or "")


def test_a_failing_channel_is_recorded_in_the_trace_and_the_workflow_goes_on(suspended, notifiers, stub, mailoutbox):
    stub.fail_with = "channel_not_found"
    notifiers(slack_entry(stub), sms_entry(stub), {"type": "email", "to": ["ops@example.com"]})
    handle = suspended("approvals_simple")
    dispatch.deliver(suspend_record(handle, "approve"))
    failed = {e["channel"]: e["error"] for e in trace(handle, "notification_failed")}
    assert set(failed) == {"slack", "sms"}
    assert "channel_not_found" in failed["slack"] and "HTTP 500" in failed["sms"]
    assert trace(handle, "notification_sent") == [{"channel": "email", "step_key": "approve"}]
    assert len(mailoutbox) == 1
    everything = json.dumps(list(Event.objects.filter(execution_id=handle.id).values_list("data", flat=True)))
    assert "xoxb-test-token" not in everything and "sms-secret-token" not in everything
    client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": True}}


def test_notify_overrides_pick_channels_and_targets(suspended, notifiers, stub, mailoutbox):
    notifiers(slack_entry(stub), {"type": "email", "to": ["ops@example.com"]})
    extra = {"_notify": {"message": "Deploy?", "email": False, "slack": {"channel": "#ops", "thread_ts": "1.5"}}}
    handle = suspended("approvals_simple", {"extra": extra})
    dispatch.deliver(suspend_record(handle, "approve"))
    [post] = stub.calls("/api/chat.postMessage")
    assert post["body"]["channel"] == "#ops" and post["body"]["thread_ts"] == "1.5"
    assert post["auth"] == "Bearer xoxb-test-token"
    assert mailoutbox == []


@pytest.mark.once
def test_bad_notifier_configuration_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="xoxb-"):
        SlackChannel(SlackChannelConfig(bot_token="xoxp-user-token", default_channel="#a"))
    with pytest.raises(ConfigurationError, match="type 'pager'"):
        build_channel({"type": "pager"})
    with pytest.raises(ConfigurationError, match="unexpected keyword"):
        build_channel({"type": "email", "recipients": ["a@b.c"]})
    assert "xoxb" not in repr(SlackChannelConfig(bot_token="xoxb-secret", default_channel="#a"))


# --- Slack end to end: a worker posts the message, a signed click resumes, the message is updated ----


def signed_post(path: str, body: bytes, content_type: str, *, secret: str = SECRET, age: int = 0) -> Any:
    ts = str(int(time.time()) - age)
    headers = {"HTTP_X_SLACK_SIGNATURE": slack_signature(secret, ts, body), "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts}
    return Client().post(path, data=body, content_type=content_type, **headers)


def click(execution_id: str, step_key: str, action: str, user: str = "alice") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": user},
        "actions": [{"action_id": action, "value": json.dumps({"executionId": execution_id, "stepKey": step_key})}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.fixture
def slack_worker(start_workers, stub, settings, notifiers):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-slack"
    entry = slack_entry(stub)
    notifiers(entry)
    start_workers(1, queues=queue, extra_env={"POLOS_TEST_NOTIFIERS": json.dumps([entry])})
    return queue


def test_worker_posts_to_slack_and_a_signed_click_resumes_and_updates_the_message(slack_worker, stub):
    handle = client.invoke("approvals_simple", {"amount": 7}, queue_name=slack_worker)
    [post] = wait_until(lambda: stub.calls("/api/chat.postMessage"), timeout=60, message="the Slack message")
    actions = next(b for b in post["body"]["blocks"] if b["type"] == "actions")["elements"]
    assert [a.get("action_id") for a in actions] == ["polos_approve", "polos_reject", "polos_details"]
    assert json.loads(actions[0]["value"]) == {"executionId": handle.id, "stepKey": "approve", "approved": True}
    assert "/polos/approve/" in actions[2]["url"]
    wait_until(lambda: Notification.objects.filter(execution_id=handle.id, status="sent").exists())
    body = click(handle.id, "approve", "polos_approve")
    # Wrong secret, stale timestamp: refused, nothing answered.
    assert signed_post("/polos/slack/interactions/", body, "application/x-www-form-urlencoded",
                       secret="wrong").status_code == 401  # fmt: skip
    assert signed_post("/polos/slack/interactions/", body, "application/x-www-form-urlencoded",
                       age=600).status_code == 401  # fmt: skip
    assert not Approval.objects.filter(execution_id=handle.id).exists()
    ts = str(int(time.time()))
    headers = {"HTTP_X_SLACK_SIGNATURE": slack_signature(SECRET, ts, body), "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts}
    ok = Client().post("/polos/slack/interactions/", body, "application/x-www-form-urlencoded", **headers)
    assert ok.status_code == 200
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": True}}
    assert Approval.objects.get(execution_id=handle.id).answered_by == "alice (Slack)"
    # The very same request again (a replay inside the window) is refused.
    replay = Client().post("/polos/slack/interactions/", body, "application/x-www-form-urlencoded", **headers)
    assert replay.status_code == 401 and b"already handled" in replay.content
    # The message is updated (from the resume event, in this process).
    assert dispatch.wait_idle(10)
    [update] = stub.calls("/api/chat.update")
    assert update["body"]["ts"] == "1700000000.000001" and "Approved by alice (Slack)" in update["body"]["text"]
    # The approval page shows who answered.
    page = Client().get(approval_path(handle, "approve"))
    assert b"alice (Slack)" in page.content and b"via slack" in page.content


def test_a_notification_whose_worker_died_while_sending_is_delivered_again(start_workers, stub, settings, notifiers):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-slack-kill"
    notifiers(slack_entry(stub))  # this process serves the Slack button clicks
    # Due again 2 x 3 s after the suspend; the first delivery is killed well before its 3 s timeout.
    env = {"POLOS_TEST_NOTIFIERS": json.dumps([slack_entry(stub)]), "POLOS_NOTIFY_TIMEOUT_SECONDS": "3"}
    stub.hold()
    [first] = start_workers(1, queues=queue, extra_env=env)
    handle = client.invoke("approvals_simple", {"amount": 7}, queue_name=queue)
    wait_until(lambda: stub.calls("/api/chat.postMessage"), timeout=60, message="the first post")
    first.kill()  # SIGKILL while Slack has not answered: nothing recorded
    stub.release()
    assert not Notification.objects.filter(execution_id=handle.id).exists()
    assert Wait.objects.get(execution_id=handle.id).notify_due_at is not None

    start_workers(1, queues=queue, extra_env=env)  # its reaper delivers again once due
    wait_until(lambda: Notification.objects.filter(execution_id=handle.id, status="sent").exists(), timeout=60,
               message="the notification delivered again")  # fmt: skip
    assert len(stub.calls("/api/chat.postMessage")) == 2  # at least once: Slack saw the first post too
    assert Notification.objects.filter(execution_id=handle.id).count() == 1
    assert Wait.objects.get(execution_id=handle.id).notify_due_at is None
    assert Event.objects.filter(execution_id=handle.id, event_type="notification_sent").count() == 1
    body = click(handle.id, "approve", "polos_approve")
    assert signed_post("/polos/slack/interactions/", body, "application/x-www-form-urlencoded").status_code == 200
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": True}}


def test_a_delivered_suspend_is_not_due_again(suspended, notifiers, stub):
    from polos_django.notify import recovery

    notifiers(slack_entry(stub))
    handle = suspended("approvals_simple")
    wait = Wait.objects.get(execution_id=handle.id)
    assert wait.notify_due_at is not None  # set with the suspend, in its transaction
    dispatch.deliver(suspend_record(handle, "approve"))
    assert Wait.objects.get(execution_id=handle.id).notify_due_at is None
    assert recovery.redeliver(wait.notify_due_at + dt.timedelta(hours=1)) == 0
    assert len(stub.calls("/api/chat.postMessage")) == 1


def test_a_second_click_is_told_it_was_already_answered(suspended, notifiers, stub):
    notifiers(slack_entry(stub))
    handle = suspended("approvals_simple")
    first = signed_post("/polos/slack/interactions/", click(handle.id, "approve", "polos_reject", "bob"),
                        "application/x-www-form-urlencoded")  # fmt: skip
    assert first.status_code == 200
    payload = {
        "type": "block_actions",
        "user": {"id": "U2", "username": "carol"},
        "response_url": f"{stub.url}/respond",
        "actions": [
            {"action_id": "polos_approve", "value": json.dumps({"executionId": handle.id, "stepKey": "approve"})}
        ],
    }
    second = signed_post("/polos/slack/interactions/", urlencode({"payload": json.dumps(payload)}).encode(),
                         "application/x-www-form-urlencoded")  # fmt: skip
    assert second.status_code == 200
    [told] = stub.calls("/respond")
    assert told["body"]["text"] == "Already answered by bob (Slack)." and told["body"]["response_type"] == "ephemeral"
    assert client.wait_for_result(handle.id, timeout=30) == {"answer": {"approved": False}}


def test_events_api_url_check_and_a_mention_starts_the_workflow_in_a_thread(worker, notifiers, stub):
    notifiers(slack_entry(stub, mention_workflow="approvals_echo"))
    check = signed_post("/polos/slack/events/", json.dumps({"type": "url_verification", "challenge": "c-123"}).encode(),
                        "application/json")  # fmt: skip
    assert check.json() == {"challenge": "c-123"}
    mention = {"type": "app_mention", "channel": "C9", "user": "U7", "ts": "1700.1", "text": "<@UBOT> hello"}
    event = {"type": "event_callback", "event_id": "Ev1", "event": mention}
    started = signed_post("/polos/slack/events/", json.dumps(event).encode(), "application/json")
    execution_id = started.json()["execution_id"]
    origin = ChannelOrigin.objects.get(execution_id=execution_id)
    assert json.loads(origin.source) == {"channel": "C9", "threadTs": "1700.1", "user": "U7"}
    # Slack retries a delivery it thinks was lost (signed anew): the same event starts nothing new.
    again = signed_post("/polos/slack/events/", json.dumps(event).encode(), "application/json", age=1)
    assert again.status_code == 200 and ChannelOrigin.objects.count() == 1
    assert client.wait_for_result(execution_id, timeout=30) == {"result": "you said: hello"}
    finish = Event.objects.get(execution_id=execution_id, event_type="workflow_finish")
    dispatch.reply_to_origin(
        EventRecord(
            finish.id, finish.topic, finish.event_type, json.loads(finish.data), finish.created_at, execution_id
        )
    )
    [reply] = stub.calls("/api/chat.postMessage")
    assert reply["body"]["channel"] == "C9" and reply["body"]["thread_ts"] == "1700.1"
    assert reply["body"]["text"] == "you said: hello"


@pytest.mark.django_db
def test_slack_endpoints_without_configuration_answer_404():
    assert Client().post("/polos/slack/interactions/", {}).status_code == 404


def test_suspends_of_an_execution_started_from_slack_go_to_its_thread(suspended, notifiers, stub):
    notifiers(slack_entry(stub))
    handle = suspended("approvals_simple")
    ChannelOrigin.objects.create(
        execution_id=handle.id, channel_id="slack", source=json.dumps({"channel": "C42", "threadTs": "1700.9"})
    )
    dispatch.deliver(suspend_record(handle, "approve"))
    [post] = stub.calls("/api/chat.postMessage")
    assert post["body"]["channel"] == "C42" and post["body"]["thread_ts"] == "1700.9"


@pytest.mark.once
def test_channels_registered_by_a_worker_join_the_configured_ones(settings):
    from polos.notifiers import Channel, register_channels
    from polos.notifiers.registry import clear_channels
    from polos_django.notify.config import configured_channels

    class Pager(Channel):
        @property
        def id(self) -> str:
            return "pager"

        async def notify(self, notification):
            return None

    settings.POLOS = {**settings.POLOS, "NOTIFIERS": [{"type": "email", "to": ["a@example.com"]}]}
    try:
        register_channels([Pager()])
        assert [c.id for c in configured_channels()] == ["email", "pager"]
        with pytest.raises(ConfigurationError, match="Channel instances"):
            register_channels(["slack"])
    finally:
        clear_channels()


@pytest.mark.once
def test_system_check_reports_bad_notifiers(settings):
    from django.core.checks import run_checks

    settings.POLOS = {**settings.POLOS, "NOTIFIERS": [{"type": "slack", "bot_token": "nope", "default_channel": "#a"}]}
    [error] = [m for m in run_checks() if m.id == "polos.E101"]
    assert "POLOS['NOTIFIERS'][0]" in error.msg and "xoxb-" in error.msg


def test_a_channel_that_hangs_times_out_into_the_trace(suspended, notifiers, settings, mailoutbox):
    notifiers({"class": "tests.approvals.test_notifications.Hanging"}, {"type": "email", "to": ["a@example.com"]})
    settings.POLOS = {**settings.POLOS, "NOTIFY_TIMEOUT_SECONDS": 0.3}
    handle = suspended("approvals_simple")
    started = time.monotonic()
    dispatch.deliver(suspend_record(handle, "approve"))
    assert time.monotonic() - started < 5
    assert trace(handle, "notification_failed") == [
        {"channel": "hanging", "step_key": "approve", "error": "timed out after 0.3 s"}
    ]
    assert len(mailoutbox) == 1  # the other channel was not held up


class Hanging(Channel):
    @property
    def id(self) -> str:
        return "hanging"

    async def notify(self, notification):
        await asyncio.sleep(60)
