"""Slack request signatures (``X-Slack-Signature`` / ``X-Slack-Request-Timestamp``, version ``v0``)."""

from __future__ import annotations

import hashlib
import hmac
import time

from ..exceptions import SlackSignatureError

TOLERANCE_SECONDS = 300


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``v0=...`` signature Slack sends for ``body`` at ``timestamp``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_signature(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Check that a request was signed by Slack with ``secret`` within ``tolerance`` seconds.

    Raises:
        SlackSignatureError: no or a wrong signature, or a timestamp outside the window (a replay of an
            old request). Replays inside the window are refused by the receiver (it remembers signatures).
    """
    if not secret:
        raise SlackSignatureError("no Slack signing secret is configured: set signing_secret on the Slack channel")
    if not timestamp or not signature:
        raise SlackSignatureError("the request has no X-Slack-Signature / X-Slack-Request-Timestamp headers")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SlackSignatureError("X-Slack-Request-Timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        raise SlackSignatureError(f"the request timestamp is more than {tolerance} s away from now (stale or replayed)")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature):
        raise SlackSignatureError("the Slack signature does not match (wrong signing secret or altered body)")
