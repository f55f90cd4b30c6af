"""Slack's inbound requests: interactivity (Approve / Reject clicks) and the Events API (mentions).

Every request is checked against the channel's ``signing_secret`` (``v0`` HMAC of the raw body,
timestamp within 5 minutes) and remembered, so a replay inside the window is refused too. Answers
go through the same path as the approval page (recorded once, who and when); the message update
follows from the ``resume_`` event (``polos_django.notify.dispatch.resolve``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from typing import Any

import httpx
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from polos.exceptions import (
    AlreadyAnsweredError,
    ExecutionNotFoundError,
    NotResumableError,
    PolosError,
    SlackSignatureError,
)
from polos.notifiers import SlackChannel, verify_slack_signature
from polos.notifiers.signature import TOLERANCE_SECONDS
from polos.notifiers.slack import APPROVE_ACTION, REJECT_ACTION

from .. import client
from ..approvals import service
from ..models import ChannelOrigin, SeenRequest
from .config import slack_channel

logger = logging.getLogger("polos.notify.slack")
MENTION = re.compile(r"<@[A-Z0-9]+>\s*")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _verified(request: HttpRequest) -> tuple[SlackChannel | None, JsonResponse | None]:
    slack = slack_channel()
    if slack is None or not slack.config.signing_secret:
        return None, _error(404, "slack_not_configured", "no Slack channel with a signing_secret in POLOS['NOTIFIERS']")
    signature = request.headers.get("X-Slack-Signature")
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    try:
        verify_slack_signature(slack.config.signing_secret, timestamp, request.body, signature)
        _remember(f"slack-sig:{signature}")
    except SlackSignatureError as exc:
        logger.warning("refused a Slack request: %s", exc)
        return None, _error(401, exc.code, str(exc))
    return slack, None


def _remember(key: str) -> None:
    """Refuse a request seen before (the signature covers the timestamp, so it is unique per request)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    cutoff = timezone.now() - dt.timedelta(seconds=2 * TOLERANCE_SECONDS)
    SeenRequest.objects.filter(seen_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            SeenRequest.objects.create(key=digest)
    except IntegrityError:
        raise SlackSignatureError("this Slack request was already handled (replay refused)") from None


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    """Slack interactivity: a click on Approve or Reject answers the suspend."""
    _, refused = _verified(request)
    if refused is not None:
        return refused
    try:
        payload = json.loads(request.POST.get("payload") or "{}")
    except ValueError:
        return _error(400, "invalid_payload", "the 'payload' form field is not JSON")
    if payload.get("type") != "block_actions":
        return HttpResponse(status=200)
    user = payload.get("user") or {}
    who = f"{user.get('username') or user.get('name') or user.get('id') or 'someone'} (Slack)"
    for action in payload.get("actions") or []:
        if action.get("action_id") not in (APPROVE_ACTION, REJECT_ACTION):
            continue
        try:
            value = json.loads(action.get("value") or "{}")
            execution_id, step_key = str(value["executionId"]), str(value["stepKey"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_payload", "the button value does not name a suspend")
        try:
            service.answer(
                execution_id,
                step_key,
                {"approved": action["action_id"] == APPROVE_ACTION},
                answered_by=who,
                channel="slack",
            )
        except (AlreadyAnsweredError, NotResumableError, ExecutionNotFoundError) as exc:
            _tell(payload.get("response_url"), _closed_text(execution_id, step_key, exc))
        except PolosError as exc:
            logger.warning("Slack answer for %s/%s failed: %s", execution_id, step_key, exc)
            _tell(payload.get("response_url"), f"Could not answer: {exc}")
    return HttpResponse(status=200)


def _closed_text(execution_id: str, step_key: str, exc: PolosError) -> str:
    try:
        suspend = service.find_suspend(execution_id, step_key)
    except ExecutionNotFoundError:
        return "This request no longer exists."
    if suspend.state == service.ANSWERED:
        return f"Already answered by {suspend.answered_by}."
    if suspend.state == service.EXPIRED:
        return "This request has expired."
    return f"This request is closed ({exc})."


def _tell(response_url: Any, text: str) -> None:
    """An ephemeral reply to the person who clicked (best effort)."""
    if not isinstance(response_url, str) or not response_url.startswith(("https://", "http://")):
        return
    try:
        httpx.post(
            response_url, json={"response_type": "ephemeral", "replace_original": False, "text": text}, timeout=5
        )
    except httpx.HTTPError as exc:
        logger.info("Slack response_url: %s", exc)


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    """The Events API: the URL check, and a mention of the bot starting ``mention_workflow``."""
    slack, refused = _verified(request)
    if refused is not None:
        return refused
    assert slack is not None
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _error(400, "invalid_payload", "the body is not JSON")
    if data.get("type") == "url_verification":
        return JsonResponse({"challenge": data.get("challenge")})
    if data.get("type") != "event_callback":
        return HttpResponse(status=200)
    event = data.get("event") or {}
    if event.get("type") != "app_mention" or event.get("bot_id"):
        return HttpResponse(status=200)
    try:
        _remember(f"slack-event:{data.get('event_id')}")  # Slack retries deliveries it thinks were lost
    except SlackSignatureError:
        return HttpResponse(status=200)
    workflow = slack.config.mention_workflow
    if not workflow:
        logger.info("a Slack mention arrived but the Slack channel has no mention_workflow")
        return HttpResponse(status=200)
    channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or ts)
    text = MENTION.sub("", str(event.get("text") or "")).strip()
    with transaction.atomic():
        handle = client.invoke(
            workflow,
            {"input": text},
            session_id=f"slack:{channel}:{thread_ts}",
            user_id=f"slack:{event.get('user')}",
        )
        ChannelOrigin.objects.create(
            execution_id=handle.id,
            channel_id="slack",
            source=json.dumps({"channel": channel, "threadTs": thread_ts, "user": event.get("user")}),
        )
    return JsonResponse({"ok": True, "execution_id": handle.id})
