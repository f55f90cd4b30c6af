"""Django settings for the test suite.

``POLOS_TEST_DATABASE`` picks the database: ``sqlite`` (default; a file, so worker processes share
it) or ``postgres`` (``POLOS_TEST_POSTGRES_URL``).  Worker processes started by the tests inherit
the same environment and so the same database and broker.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid

import dj_database_url

SECRET_KEY = "polos-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "polos_django",
    "tests.sampleapp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"

BACKEND = os.environ.setdefault("POLOS_TEST_DATABASE", "sqlite")
if BACKEND == "postgres":
    url = os.environ.get("POLOS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = os.environ.setdefault("POLOS_TEST_PG_NAME", f"polos_test_{uuid.uuid4().hex[:8]}")
    db = dj_database_url.parse(url, conn_max_age=None)
    db["NAME"] = name
    db["TEST"] = {"NAME": name}
    DATABASES = {"default": db}
else:
    path = os.environ.setdefault(
        "POLOS_TEST_SQLITE_PATH", os.path.join(tempfile.mkdtemp(prefix="polos-test-"), "db.sqlite3")
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "TEST": {"NAME": path},
            "CONN_MAX_AGE": None,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }

_redis_db = 11 if BACKEND == "sqlite" else 12
CELERY_BROKER_URL = os.environ.setdefault(
    "POLOS_TEST_BROKER_URL", os.environ.get("POLOS_TEST_REDIS_URL_BASE", "redis://127.0.0.1:6379") + f"/{_redis_db}"
)
# A queue of this test session alone: several sessions may share one Redis server.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("POLOS_TEST_QUEUE", f"polos-test-{uuid.uuid4().hex[:8]}")
# Sandbox workspaces (and their index) of the test processes and their workers: not ~/.polos.
os.environ.setdefault("POLOS_WORKSPACES_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "polos-test-workspaces"))
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

POLOS = {
    "LEASE_SECONDS": float(os.environ.get("POLOS_TEST_LEASE_SECONDS", "10")),
    "HEARTBEAT_SECONDS": 2.0,
    "REAPER_INTERVAL_SECONDS": 0.5,
    "REDELIVER_AFTER_SECONDS": 3.0,
    "INLINE_WAIT_MAX_SECONDS": 1.0,
    # Notification channels of worker processes a test starts (tests/approvals: stub Slack/SMS servers).
    "NOTIFIERS": json.loads(os.environ.get("POLOS_TEST_NOTIFIERS", "[]")),
    "EXECUTION_RETRY_BASE_DELAY": 0.2,
    "CANCEL_GRACE_SECONDS": 2.0,
    # Buckets of this test session alone (tests/flow/test_ratelimit.py).
    "RATE_LIMITS": {
        f"{CELERY_TASK_DEFAULT_QUEUE}-bucket": {"rate": 10, "per": 1, "burst": 2},
        f"queue:{CELERY_TASK_DEFAULT_QUEUE}-rated": {"rate": 5, "per": 1, "burst": 1},
    },
    # The examples' workflows, so tests/examples can run them on the test worker.
    "WORKFLOW_MODULES": [
        "examples.basics.workflows",
        "examples.approvals.workflows",
        "examples.state.workflows",
        "examples.errors.workflows",
        "examples.parallel.workflows",
        "examples.sandbox_local.workflows",
        "examples.sandbox_allowlist.workflows",
        "examples.sandbox_docker.workflows",
        "examples.sandbox_session.workflows",
        "examples.sandbox_web_search.workflows",
        "tests.approvals.workflows",
        "examples.approvals_page.workflows",
        "examples.slack_channel.workflows",
        "tests.flow.workflows",
        "examples.flow_queues.workflows",
        "examples.flow_events.workflows",
        "examples.flow_schedules.workflows",
        "tests.ui.workflows",
        "tests.agents.agents",
        "examples.agents_tools.agents",
        "examples.agents_structured.agents",
        "examples.agents_streaming.agents",
        "examples.agents_chat.agents",
        "examples.agents_thinking.agents",
        "examples.agents_guardrails.agents",
        "examples.agents_hooks.agents",
        "examples.agents_router.agents",
        "examples.agents_fraud_review.agents",
        # Modules only some worker processes import (e.g. workflows that the shared worker, which
        # consumes every declared queue it knows, must not pick up): comma-separated.
        *filter(None, os.environ.get("POLOS_TEST_EXTRA_WORKFLOW_MODULES", "").split(",")),
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"polos": {"handlers": ["console"], "level": "WARNING"}},
}
