"""Django settings of the benchmarks (the approach of ``tests/settings.py``).

The benchmark process (see :func:`bench.common.setup`) picks a fresh database and writes its name
into the environment *before* Django starts; the worker processes it starts inherit that
environment and so the same database and broker:

- ``POLOS_BENCH_DB``: ``sqlite`` (default) or ``postgres``;
- ``POLOS_BENCH_SQLITE_PATH``: the SQLite file (WAL, ``BEGIN IMMEDIATE``);
- ``POLOS_BENCH_PG_URL`` / ``POLOS_BENCH_PG_NAME``: the server and the ``polos_bench_<random>`` database;
- ``POLOS_BENCH_BROKER_URL``: Redis db 13 (SQLite runs) or 14 (PostgreSQL runs), flushed at start.
- ``POLOS_BENCH_DB_REUSE_MAX``: if set, ``CELERY_DB_REUSE_MAX`` (keep Celery's Django fixup from
  closing the database connection around every task); unset by default, like the test suite.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import dj_database_url

SECRET_KEY = "polos-bench-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["polos_django"]

BACKEND = os.environ.setdefault("POLOS_BENCH_DB", "sqlite")
if BACKEND == "postgres":
    url = os.environ.get("POLOS_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = os.environ.setdefault("POLOS_BENCH_PG_NAME", f"polos_bench_{uuid.uuid4().hex[:8]}")
    db = dj_database_url.parse(url, conn_max_age=None)
    db["NAME"] = name
    DATABASES = {"default": db}
else:
    if "POLOS_BENCH_SQLITE_PATH" not in os.environ:
        os.environ["POLOS_BENCH_SQLITE_PATH"] = os.path.join(tempfile.mkdtemp(prefix="polos-bench-"), "db.sqlite3")
    path = os.environ["POLOS_BENCH_SQLITE_PATH"]
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "CONN_MAX_AGE": None,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }

_redis_db = 13 if BACKEND == "sqlite" else 14
CELERY_BROKER_URL = os.environ.setdefault("POLOS_BENCH_BROKER_URL", f"redis://127.0.0.1:6379/{_redis_db}")
# Only the baseline tasks (bench.tasks.noop, ignore_result=False) store results.
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if os.environ.get("POLOS_BENCH_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["POLOS_BENCH_DB_REUSE_MAX"])

POLOS = {
    "LEASE_SECONDS": 30.0,
    "HEARTBEAT_SECONDS": 5.0,
    "REAPER_INTERVAL_SECONDS": 0.5,
    "REAPER_IN_WORKER": True,
    "REDELIVER_AFTER_SECONDS": 15.0,
    "INLINE_WAIT_MAX_SECONDS": 1.0,
    "EXECUTION_RETRY_BASE_DELAY": 0.2,
    "AUTODISCOVER_MODULES": [],
    "WORKFLOW_MODULES": ["bench.workflows", "bench.agent_workflows"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"polos": {"handlers": ["console"], "level": "WARNING"}},
}
