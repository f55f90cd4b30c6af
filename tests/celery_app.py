"""The Celery app of the test suite's worker processes."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from celery import Celery  # noqa: E402

app = Celery("polos_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["polos_django"])
