"""The Celery app of the benchmark worker processes (``celery -A bench.celery_app worker``)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from celery import Celery  # noqa: E402

app = Celery("polos_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["polos_django"])

import bench.tasks  # noqa: E402,F401  (the baseline tasks)
import polos_django.tasks  # noqa: E402,F401
