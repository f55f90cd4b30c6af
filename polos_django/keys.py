"""API keys: created once, shown once, stored hashed, checked on every request.

A key reads ``polos_<prefix>_<secret>``: ``prefix`` is 8 random hex characters stored in clear (it
finds the row and tells keys apart in the admin), ``secret`` is 192 random bits.  The row stores the
SHA-256 of the whole key.  A slow password hash (PBKDF2, Argon2) exists to make guessing *low-entropy*
passwords expensive; guessing 192 random bits is out of reach anyway, so it would only add ~100 ms
to every authenticated request.  No salt either: salts defeat precomputed tables, and no table can
cover 2^192 keys.  The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ApiKey, Project

KEY_PREFIX = "polos"
PREFIX_CHARS = 8
SECRET_BYTES = 24


def hash_key(plaintext: str) -> str:
    """The stored form of a key (hex SHA-256)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else ``None``."""
    parts = plaintext.split("_", 2) if isinstance(plaintext, str) else []
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_CHARS or not parts[2]:
        return None
    return parts[1], parts[2]


def create_key(project: Project, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for ``project``; returns the row and the plaintext key (shown once, never stored)."""
    for _ in range(5):
        prefix = secrets.token_hex(PREFIX_CHARS // 2)
        plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_hex(SECRET_BYTES)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(project=project, name=name, prefix=prefix, hashed_key=hash_key(plaintext))
        except IntegrityError:  # a prefix collision (1 in 4 billion): draw again
            continue
        return key, plaintext
    raise RuntimeError("could not draw an unused API key prefix")


def _check(plaintext: str, key: ApiKey | None) -> ApiKey | None:
    expected = key.hashed_key if key is not None else "0" * 64
    # Compare even when no row matched so that timing does not tell whether a prefix exists.
    match = hmac.compare_digest(hash_key(plaintext), expected)
    return key if match and key is not None else None


def verify_key(plaintext: str) -> ApiKey | None:
    """The live (not revoked) key matching ``plaintext``, with its project loaded; else ``None``."""
    parsed = parse_key(plaintext)
    if parsed is None:
        return None
    key = ApiKey.objects.select_related("project").filter(prefix=parsed[0], revoked_at__isnull=True).first()
    return _check(plaintext, key)


async def averify_key(plaintext: str) -> ApiKey | None:
    """:func:`verify_key` for async code (Channels consumers, async views)."""
    parsed = parse_key(plaintext)
    if parsed is None:
        return None
    key = await ApiKey.objects.select_related("project").filter(prefix=parsed[0], revoked_at__isnull=True).afirst()
    return _check(plaintext, key)


def revoke_key(key: ApiKey) -> None:
    """Revoke a key at once (it stays listed, marked revoked)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def default_project(preferred_id: str | None = None) -> tuple[Project, bool]:
    """The project local tools use: ``preferred_id`` if it exists, else the oldest, else a new "default"."""
    if preferred_id:
        project = Project.objects.filter(pk=preferred_id).first()
        if project is not None:
            return project, False
    project = Project.objects.order_by("created_at").first()
    if project is not None:
        return project, False
    return Project.objects.create(name="default"), True
