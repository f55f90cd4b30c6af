"""API keys: created once, shown once, stored hashed, checked on every request.

A key reads ``polos_<prefix>_<secret>``: ``prefix`` is 8 random hex characters stored in clear (it
finds the row and tells keys apart in the admin), ``secret`` is 192 random bits.  The row stores the
SHA-256 of the whole key.  A slow password hash (PBKDF2, Argon2) exists to make guessing *low-entropy*
passwords expensive; guessing 192 random bits is out of reach anyway, so it would only add ~100 ms
to every authenticated request.  No salt either: salts defeat precomputed tables, and no table can
cover 2^192 keys.  The comparison is constant-time.

Verified keys are remembered in the process for ``API_KEY_CACHE_SECONDS`` (by their hash, never in
clear), so an API request does not pay a database query for its key.  Saving or deleting an
``ApiKey`` (revoking it in the admin or with :func:`revoke_key`) forgets it at once in that process;
other processes forget it within the cache time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .conf import polos_settings
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


def _check(digest: str, key: ApiKey | None) -> ApiKey | None:
    expected = key.hashed_key if key is not None else "0" * 64
    # Compare even when no row matched so that timing does not tell whether a prefix exists.
    match = hmac.compare_digest(digest, expected)
    return key if match and key is not None else None


class _VerifiedKeys:
    """Keys verified recently in this process: ``hash -> (deadline, key)``; misses are not kept."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, ApiKey]] = {}

    def get(self, digest: str) -> ApiKey | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, key: ApiKey) -> None:
        seconds = float(polos_settings.API_KEY_CACHE_SECONDS)
        if seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + seconds, key)

    def forget(self, key_id: Any) -> None:
        with self._lock:
            for digest in [d for d, (_, key) in self._entries.items() if key.pk == key_id]:
                del self._entries[digest]


_verified = _VerifiedKeys()


def _forget(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    _verified.forget(instance.pk)


post_save.connect(_forget, sender=ApiKey, dispatch_uid="polos-api-key-cache")
post_delete.connect(_forget, sender=ApiKey, dispatch_uid="polos-api-key-cache")


def verify_key(plaintext: str) -> ApiKey | None:
    """The live (not revoked) key matching ``plaintext``, with its project loaded; else ``None``."""
    parsed = parse_key(plaintext)
    if parsed is None:
        return None
    digest = hash_key(plaintext)
    if (cached := _verified.get(digest)) is not None:
        return cached
    key = ApiKey.objects.select_related("project").filter(prefix=parsed[0], revoked_at__isnull=True).first()
    if (found := _check(digest, key)) is not None:
        _verified.put(digest, found)
    return found


async def averify_key(plaintext: str) -> ApiKey | None:
    """:func:`verify_key` for async code (Channels consumers, async views)."""
    parsed = parse_key(plaintext)
    if parsed is None:
        return None
    digest = hash_key(plaintext)
    if (cached := _verified.get(digest)) is not None:
        return cached
    key = await ApiKey.objects.select_related("project").filter(prefix=parsed[0], revoked_at__isnull=True).afirst()
    if (found := _check(digest, key)) is not None:
        _verified.put(digest, found)
    return found


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
