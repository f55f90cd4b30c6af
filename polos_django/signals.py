"""Signal receivers: settings reload and SQLite connection tuning."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from .conf import polos_settings


@receiver(setting_changed)
def _reload_settings(setting: str, **kwargs: Any) -> None:
    if setting in ("POLOS", "CELERY_BROKER_URL"):
        polos_settings.reload()


@receiver(connection_created)
def _tune_sqlite(connection: Any, **kwargs: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=NORMAL is safe against process crashes
    # (not power loss) and commits ~10x faster than FULL.  See docs/architecture.md.
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=20000")
