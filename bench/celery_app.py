"""The Celery app of the benchmark worker processes (``celery -A bench.celery_app worker``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from celery import Celery, signals  # noqa: E402

app = Celery("polos_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["polos_django"])

import bench.tasks  # noqa: E402,F401  (the baseline tasks)
import polos_django.tasks  # noqa: E402,F401


@signals.worker_ready.connect
def _announce_ready(**kwargs: Any) -> None:
    ready_file = os.environ.get("POLOS_BENCH_READY_FILE")
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()))
