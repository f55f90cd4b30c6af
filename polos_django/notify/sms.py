"""SMS through a Twilio-compatible HTTP API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

The message carries a short link (``/polos/a/<code>/``) to the approval page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx
from django.db import connection

from polos.exceptions import ConfigurationError, NotificationError
from polos.notifiers import Channel, SuspendNotification

from ..approvals import links
from .email import parse_time

TWILIO_API = "https://api.twilio.com"


class SmsChannel(Channel):
    """Texts each recipient a one-line summary and a short approval link.

    Args:
        account_sid: the account SID (part of the URL; not secret).
        auth_token: the API secret (HTTP basic auth; never logged).
        from_number: the sending number.
        to: recipient numbers (``_notify.sms.to`` overrides them per suspend).
        api_base_url: the API's base URL.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        to: Sequence[str] = (),
        api_base_url: str = TWILIO_API,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token or not from_number:
            raise ConfigurationError("the sms channel needs account_sid, auth_token and from_number")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self.to = [to] if isinstance(to, str) else [str(n) for n in to]
        self.api_base_url = api_base_url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmsChannel(account_sid={self.account_sid!r}, from_number={self.from_number!r})"

    @property
    def id(self) -> str:
        return "sms"

    async def notify(self, notification: SuspendNotification) -> dict[str, Any] | None:
        overrides = notification.channel_overrides or {}
        to = overrides.get("to") or self.to
        numbers = [to] if isinstance(to, str) else [str(n) for n in to]
        if not numbers:
            raise ConfigurationError("the sms channel has no recipients: set 'to' in NOTIFIERS or _notify.sms.to")
        summary = (notification.message or notification.title or "Your input is needed").replace("\n", " ")[:100]
        expires = parse_time(notification.expires_at)
        url = f"{self.api_base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        sids = []
        async with httpx.AsyncClient(timeout=self.timeout, auth=(self.account_sid, self._auth_token)) as client:
            for number in numbers:
                token = links.make_token(notification.execution_id, notification.step_key, expires, recipient=number)
                short = await asyncio.to_thread(_short_url, token, expires)
                try:
                    response = await client.post(
                        url, data={"To": number, "From": self.from_number, "Body": f"{summary} {short}"}
                    )
                except httpx.HTTPError as exc:
                    raise NotificationError(f"SMS to {number}: {type(exc).__name__}: {exc}") from None
                if response.status_code >= 300:
                    raise NotificationError(f"SMS to {number}: HTTP {response.status_code}: {response.text[:200]}")
                sids.append(response.json().get("sid"))
        return {"to": numbers, "sids": sids}


def _short_url(token: str, expires: dt.datetime | None) -> str:
    try:
        return links.short_url(token, expires)
    finally:
        connection.close()  # a pool thread: do not leave its connection open
