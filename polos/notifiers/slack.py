"""Slack: a Block Kit message per suspend (Approve / Reject buttons for simple approvals, a link for
forms), updated once the suspend is answered; replies in the thread an execution was started from.

Talks to the Slack Web API with ``httpx`` (no Slack SDK) at ``api_base_url``, so tests and air-gapped
setups point it at a local server. Inbound requests (button clicks, mentions) are handled by the
Django app (``polos_django.notify.slack_views``), which checks them with ``signing_secret``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..exceptions import ConfigurationError, NotificationError
from .channel import Channel, ChannelContext, ChannelOutputMode, Resolution, SuspendNotification

SLACK_API = "https://slack.com/api"
APPROVE_ACTION = "polos_approve"
REJECT_ACTION = "polos_reject"
MAX_CONTEXT_CHARS = 2500

Block = dict[str, Any]


@dataclass
class SlackChannelConfig:
    """Settings of :class:`SlackChannel`.

    Attributes:
        bot_token: the bot token (``xoxb-...``; never logged).
        default_channel: where notifications go unless ``_notify`` says otherwise (``"#approvals"``).
        signing_secret: checks inbound requests (button clicks, mentions).
        api_base_url: the Web API base URL.
        timeout: seconds per API call.
        mention_workflow: the workflow or agent a mention of the bot starts (Events API).
    """

    bot_token: str
    default_channel: str
    signing_secret: str | None = None
    api_base_url: str = SLACK_API
    timeout: float = 10.0
    mention_workflow: str | None = None

    def __repr__(self) -> str:  # keep the token and secret out of logs and tracebacks
        return f"SlackChannelConfig(default_channel={self.default_channel!r}, api_base_url={self.api_base_url!r})"


class SlackChannel(Channel):
    """Posts suspend notifications to Slack and updates them when answered."""

    def __init__(self, config: SlackChannelConfig) -> None:
        if not isinstance(config.bot_token, str) or not config.bot_token.startswith("xoxb-"):
            raise ConfigurationError(
                "Slack bot_token must be a bot token starting with 'xoxb-' (the Bot User OAuth Token of your app)"
            )
        if not config.default_channel:
            raise ConfigurationError("SlackChannelConfig needs default_channel (e.g. '#approvals')")
        self.config = config

    @property
    def id(self) -> str:
        return "slack"

    @property
    def output_mode(self) -> ChannelOutputMode:
        return "final"

    # --- the Channel interface -------------------------------------------------------------------

    async def notify(self, notification: SuspendNotification) -> dict[str, Any] | None:
        overrides = notification.channel_overrides or {}
        origin = notification.channel_context.source if notification.channel_context else {}
        channel = overrides.get("channel") or origin.get("channel") or self.config.default_channel
        thread_ts = overrides.get("thread_ts") or overrides.get("threadTs") or origin.get("threadTs")
        text = escape(notification.message or notification.title or "Your input is needed")
        reply = await self.call(
            "chat.postMessage",
            {"channel": channel, "text": text, "blocks": build_blocks(notification), "unfurl_links": False},
            thread_ts=thread_ts,
        )
        return {"channel": reply.get("channel") or channel, "ts": reply.get("ts"), "thread_ts": thread_ts}

    async def resolved(self, metadata: dict[str, Any], resolution: Resolution) -> None:
        if not metadata.get("ts") or not metadata.get("channel"):
            return
        who = escape(resolution.answered_by or "someone")
        if resolution.approved is True:
            line = f":white_check_mark: Approved by {who}"
        elif resolution.approved is False:
            line = f":x: Rejected by {who}"
        else:
            line = f":speech_balloon: Answered by {who}"
        if resolution.via and resolution.via != "slack":
            line += f" (via {escape(resolution.via)})"
        title = escape(str(metadata.get("title") or "Approval"))
        blocks: list[Block] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]},
        ]
        await self.call(
            "chat.update", {"channel": metadata["channel"], "ts": metadata["ts"], "text": line, "blocks": blocks}
        )

    async def send_output(self, context: ChannelContext, event: Any) -> None:
        channel = context.source.get("channel")
        if not channel:
            return
        text = format_output(event)
        if text:
            await self.call(
                "chat.postMessage", {"channel": channel, "text": text}, thread_ts=context.source.get("threadTs")
            )

    # --- the Web API -----------------------------------------------------------------------------

    async def call(self, method: str, body: dict[str, Any], *, thread_ts: str | None = None) -> dict[str, Any]:
        """Call a Web API method; raises :class:`NotificationError` with Slack's error code."""
        if thread_ts:
            body = {**body, "thread_ts": thread_ts}
        url = f"{self.config.api_base_url.rstrip('/')}/{method}"
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NotificationError(f"Slack {method}: {type(exc).__name__}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            raise NotificationError(f"Slack {method}: HTTP {response.status_code}, not a JSON answer") from None
        if not isinstance(data, dict) or not data.get("ok"):
            error = data.get("error", "unknown") if isinstance(data, dict) else "unknown"
            raise NotificationError(f"Slack {method} failed: {error}", slack_error=error)
        return data


def escape(text: str) -> str:
    """Slack mrkdwn escaping: user text cannot turn into links, mentions or markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_blocks(n: SuspendNotification) -> list[Block]:
    """The Block Kit message of a suspend."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": (n.title or "Your input is needed")[:150]}}
    ]
    if n.description:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(n.description)[:3000]}})
    meta = [f"*Workflow:* `{escape(n.workflow_id)}`"]
    if n.tool:
        meta.append(f"*Tool:* `{escape(n.tool)}`")
    if n.source:
        meta.append(f"*Source:* {escape(n.source)}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "  |  ".join(meta)}]})
    if n.context:
        rendered = json.dumps(n.context, indent=2, ensure_ascii=False, default=str)
        if len(rendered) > MAX_CONTEXT_CHARS:
            rendered = rendered[:MAX_CONTEXT_CHARS] + "\n…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{escape(rendered)}```"}})
    if n.expires_at:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Expires {escape(n.expires_at)}"}]})
    if n.is_simple_approval:
        value = {"executionId": n.execution_id, "stepKey": n.step_key}
        elements: list[Block] = [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": json.dumps({**value, "approved": True}),
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": "Reject"},
                "style": "danger",
                "value": json.dumps({**value, "approved": False}),
            },
        ]
        if n.approval_url:
            elements.append(
                {
                    "type": "button",
                    "action_id": "polos_details",
                    "text": {"type": "plain_text", "text": "Details"},
                    "url": n.approval_url,
                }
            )
    else:
        elements = [
            {
                "type": "button",
                "action_id": "polos_respond",
                "text": {"type": "plain_text", "text": "Respond"},
                "style": "primary",
                "url": n.approval_url,
            }
        ]
    blocks.append({"type": "actions", "block_id": f"polos:{n.step_key}"[:255], "elements": elements})
    return blocks


def format_output(event: Any) -> str | None:
    """A short text for a finish event of an execution started from Slack."""
    event_type = getattr(event, "event_type", None)
    data = getattr(event, "data", None) or {}
    if event_type not in ("workflow_finish", "agent_finish") or not isinstance(data, dict):
        return None
    if data.get("error"):
        return f":x: Failed: {escape(str(data['error']))[:3000]}"
    result = data.get("result")
    if isinstance(result, dict) and "result" in result:
        result = result["result"]
    if result is None:
        return ":white_check_mark: Done"
    text = result if isinstance(result, str) else json.dumps(result, indent=2, default=str)
    return escape(text)[:3000]
