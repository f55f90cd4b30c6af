"""The Celery app of the bundled project (``celery -A polos_django.server.celery:app worker``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polos_django.server.settings")

app = Celery("polos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_ready.connect
def _announce_ready(**kwargs: Any) -> None:
    # The supervisor waits for this file to say "ready" (parsing log lines would tie it to log levels).
    ready_file = os.environ.get("POLOS_WORKER_READY_FILE")
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()))
