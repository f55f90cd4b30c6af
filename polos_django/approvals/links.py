"""Signed approval links: ``PUBLIC_URL`` + ``APPROVAL_PATH`` + a token + ``/``.

The token is ``django.core.signing`` output (salted, signed with ``SECRET_KEY``) naming the execution,
the step key, the expiry (the suspend's timeout) and optionally the recipient it was sent to. It
needs no login: holding the link is the permission, so links are sent only to the people meant to
answer. Expiry is in the token; single use is enforced by the answer itself (the suspend's wait row
is gone and an :class:`~polos_django.models.Approval` row exists).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core import signing
from django.utils import timezone

from polos.exceptions import ApprovalLinkError, ApprovalLinkExpiredError

from ..conf import polos_settings

SALT = "polos.approval"
SHORT_PATH = "/polos/a/"


@dataclass(frozen=True, slots=True)
class ApprovalLink:
    """What a valid token names."""

    execution_id: str
    step_key: str
    expires_at: dt.datetime | None = None
    recipient: str | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


def make_token(
    execution_id: str, step_key: str, expires_at: dt.datetime | None = None, recipient: str | None = None
) -> str:
    """A signed token for the suspend ``step_key`` of ``execution_id``."""
    payload: dict[str, object] = {"e": execution_id, "k": step_key}
    if expires_at is not None:
        payload["x"] = int(expires_at.timestamp())
    if recipient:
        payload["r"] = recipient
    return signing.dumps(payload, salt=SALT, compress=True)


def base_url() -> str:
    return str(polos_settings.PUBLIC_URL).rstrip("/")


def approval_path() -> str:
    """``APPROVAL_PATH`` normalised to ``/a/b/``."""
    return "/" + str(polos_settings.APPROVAL_PATH).strip("/") + "/"


def approval_url(
    execution_id: str, step_key: str, expires_at: dt.datetime | None = None, recipient: str | None = None
) -> str:
    """The absolute approval-page URL of a suspend (the ``_approval_url`` of its event)."""
    return f"{base_url()}{approval_path()}{make_token(execution_id, step_key, expires_at, recipient)}/"


def read_token(token: str, *, allow_expired: bool = False) -> ApprovalLink:
    """Check a token's signature and expiry.

    Raises:
        ApprovalLinkError: the token is forged, damaged or from another site.
        ApprovalLinkExpiredError: the suspend's timeout has passed (unless ``allow_expired``).
    """
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise ApprovalLinkError("this approval link is not valid: it was changed or not issued by this site") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), str) or not isinstance(payload.get("k"), str):
        raise ApprovalLinkError("this approval link is not valid: it does not name a suspended step")
    expires = payload.get("x")
    link = ApprovalLink(
        execution_id=payload["e"],
        step_key=payload["k"],
        expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC) if isinstance(expires, int) else None,
        recipient=payload.get("r") if isinstance(payload.get("r"), str) else None,
    )
    if link.expired and not allow_expired:
        raise ApprovalLinkExpiredError(f"this approval link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC", link=link)
    return link


def short_url(token: str, expires_at: dt.datetime | None = None) -> str:
    """A short URL standing for ``token`` (for SMS); it redirects to the approval page."""
    from ..models import ShortLink

    code = secrets.token_urlsafe(8)
    ShortLink.objects.create(code=code, token=token, expires_at=expires_at)
    return f"{base_url()}{SHORT_PATH}{code}/"
