"""E-mail notifications through Django's mail framework (``EMAIL_BACKEND``; the test outbox in tests).

Each recipient gets a link of their own (the token names them), so the approval records who answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from polos.exceptions import ConfigurationError
from polos.notifiers import Channel, SuspendNotification

from ..approvals import links


class EmailChannel(Channel):
    """Sends one e-mail per recipient with a personal link to the approval page.

    Args:
        to: recipient addresses (``_notify.email.to`` overrides them per suspend).
        from_email: the sender (``DEFAULT_FROM_EMAIL`` by default).
        subject_prefix: put before the form's title.
    """

    def __init__(self, to: Sequence[str] = (), from_email: str | None = None, subject_prefix: str = "[Polos] ") -> None:
        if isinstance(to, str):
            to = [to]
        self.to = [str(a) for a in to]
        self.from_email = from_email
        self.subject_prefix = subject_prefix

    @property
    def id(self) -> str:
        return "email"

    async def notify(self, notification: SuspendNotification) -> dict[str, Any] | None:
        return self.send(notification)  # no database access: safe on the dispatcher's own loop

    def send(self, notification: SuspendNotification) -> dict[str, Any]:
        overrides = notification.channel_overrides or {}
        to = overrides.get("to") or self.to
        recipients = [to] if isinstance(to, str) else [str(a) for a in to]
        if not recipients:
            raise ConfigurationError("the email channel has no recipients: set 'to' in NOTIFIERS or _notify.email.to")
        subject = self.subject_prefix + (overrides.get("subject") or notification.title or "Your input is needed")
        expires = parse_time(notification.expires_at)
        for address in recipients:
            url = links.approval_url(notification.execution_id, notification.step_key, expires, recipient=address)
            context = {"n": notification, "url": url, "recipient": address}
            text = render_to_string("polos/approvals/email.txt", context)
            html = render_to_string("polos/approvals/email.html", context)
            message = EmailMultiAlternatives(
                subject.replace("\n", " ")[:200],
                text,
                self.from_email or settings.DEFAULT_FROM_EMAIL,
                [address],
            )
            message.attach_alternative(html, "text/html")
            message.send()
        return {"to": recipients}


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO time (``_form.expiresAt``), or ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
