"""Run the Slack channel example: ``python -m examples.slack_channel.main`` (in memory, no services).

Without ``SLACK_BOT_TOKEN`` the channel talks to a local stub of the Slack Web API, and the script
plays Alice clicking **Approve**: it builds the request Slack would send, signs it with the signing
secret and checks it the way ``/polos/slack/interactions/`` does. With ``SLACK_BOT_TOKEN`` (and
``SLACK_CHANNEL``) the message goes to your workspace; nobody can click back into an in-memory run,
so the script approves on Alice's behalf after posting.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from polos.notifiers import Resolution, SlackChannel, SlackChannelConfig, build_notification, verify_slack_signature
from polos.notifiers.signature import slack_signature
from polos.testing import LocalRuntime

from .stub_slack import StubSlack
from .workflows import refund

SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "example-signing-secret")


def click(blocks: list[dict[str, Any]], action_id: str, user: str) -> tuple[bytes, dict[str, str]]:
    """The signed request Slack sends when ``user`` clicks the button ``action_id`` of a message."""
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    button = next(a for a in actions if a.get("action_id") == action_id)
    payload = {"type": "block_actions", "user": {"id": "U123", "username": user}, "actions": [button]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()))
    return body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slack_signature(SIGNING_SECRET, ts, body)}


async def main(runtime: LocalRuntime | None = None, stub: StubSlack | None = None) -> dict[str, Any]:
    runtime = runtime or LocalRuntime()
    token = os.environ.get("SLACK_BOT_TOKEN")
    own_stub = stub is None and not token
    stub = StubSlack() if own_stub else stub
    config = SlackChannelConfig(
        bot_token=token or "xoxb-example",
        default_channel=os.environ.get("SLACK_CHANNEL", "#refunds"),
        signing_secret=SIGNING_SECRET,
        api_base_url=stub.api_url if stub else "https://slack.com/api",
    )
    slack = SlackChannel(config)
    try:
        handle = await refund.invoke(runtime.client, {"order": "A-1001", "amount": 49.5, "customer": "ada",
                                                      "channel": config.default_channel})  # fmt: skip
        await runtime.run_until_idle()
        [event] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "suspend_approve-refund"]
        # What the runtime does after the suspend commits: one notification per channel.
        notification = build_notification(refund.id, handle.id, "approve-refund", event.data)
        notification.channel_overrides = event.data["_notify"]["slack"]
        sent = await slack.notify(notification) or {}
        blocks = stub.calls[-1][1]["blocks"] if stub else []
        # Alice clicks Approve; the interactions endpoint checks the signature and answers the suspend.
        if blocks:
            body, headers = click(blocks, "polos_approve", "alice")
            verify_slack_signature(
                SIGNING_SECRET, headers["X-Slack-Request-Timestamp"], body, headers["X-Slack-Signature"]
            )
            button = json.loads(parse_qs(body.decode())["payload"][0])["actions"][0]
            decision = json.loads(button["value"])["approved"]
        else:
            decision = True
        await runtime.client.resume(handle.root_workflow_id, handle.id, "approve-refund", {"approved": decision})
        result = await runtime.client.wait_for_result(handle.id, timeout=60)
        # ... and the message is updated to say who answered.
        resolution = Resolution(
            execution_id=handle.id, step_key="approve-refund", answered_by="alice (Slack)", data={"approved": decision}
        )
        await slack.resolved(sent, resolution)
        return {
            "result": result,
            "slack_calls": [method for method, _ in stub.calls] if stub else ["chat.postMessage", "chat.update"],
            "buttons": [a.get("action_id") for b in blocks if b["type"] == "actions" for a in b["elements"]],
        }
    finally:
        if own_stub and stub is not None:
            stub.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
