"""The Celery app of the test suite's worker processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from celery import Celery, signals  # noqa: E402

app = Celery("polos_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["polos_django"])


@signals.worker_ready.connect
def _announce_ready(**kwargs: Any) -> None:
    ready_file = os.environ.get("POLOS_TEST_READY_FILE")
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()))
