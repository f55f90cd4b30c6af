"""The approvals examples run as written: the approval page flow over the real HTTP API and worker,
and the Slack channel walk-through in memory."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx
import pytest

from examples.approvals_page.main import main as approvals_page_main
from examples.slack_channel.main import main as slack_channel_main
from examples.slack_channel.stub_slack import StubSlack
from polos import PolosClient
from polos_django.keys import create_key
from polos_django.models import Approval, Project


def answer_like_a_person(server_url: str, link: str, form: dict[str, str]) -> None:
    """GET the page, then post the form with its CSRF token (what a browser does)."""
    url = server_url + urlsplit(link).path
    with httpx.Client(timeout=30) as http:
        page = http.get(url)
        assert page.status_code == 200, page.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        posted = http.post(url, data={"csrfmiddlewaretoken": token, **form}, headers={"Origin": server_url})
        assert posted.status_code == 302, posted.text[:500]


def test_approvals_page_example_over_the_api(app_server, worker):
    project = Project.objects.create(name="examples")
    _, key = create_key(project)
    client = PolosClient(api_url=app_server.url, api_key=key, project_id=project.pk)
    form = {"approved": "true", "reason": "release notes reviewed", "notes": "watch\r\nthe graphs",
            "replicas": "5", "canary": "on", "window": "1"}  # fmt: skip
    result = asyncio.run(
        asyncio.wait_for(
            approvals_page_main(client, lambda link: answer_like_a_person(app_server.url, link, form)), timeout=120
        )
    )
    assert result["status"] == "completed" and "/polos/approve/" in result["link"]
    assert result["result"] == {
        "deployed": True,
        "version": "2.4.1",
        "replicas": 5,
        "window": "night",
        "steps": ["canary", "rollout"],
        "reason": "release notes reviewed",
    }
    assert Approval.objects.get().channel == "page"
    again = httpx.get(app_server.url + urlsplit(result["link"]).path, timeout=30)
    assert "Already answered" in again.text


@pytest.mark.once
async def test_slack_channel_example_in_memory():
    stub = StubSlack(quiet=True)
    try:
        result = await asyncio.wait_for(slack_channel_main(stub=stub), timeout=60)
    finally:
        stub.close()
    assert result["result"] == {"refunded": True, "order": "A-1001", "receipt": "refund-A-1001"}
    assert [method for method, _ in stub.calls] == ["chat.postMessage", "chat.update"]
    posted, updated = stub.calls[0][1], stub.calls[1][1]
    assert posted["channel"] == "#refunds" and posted["text"] == "Refund 49.50 EUR?"
    assert updated["text"] == ":white_check_mark: Approved by alice (Slack)"
