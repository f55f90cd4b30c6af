"""Polos settings: one ``POLOS = {...}`` dict in Django settings, defaults in one place.

    from polos_django.conf import polos_settings
    polos_settings.LEASE_SECONDS

Environment variables (``POLOS_*``) override the defaults for the standalone server; an explicit
``POLOS`` setting wins over both.  The object reloads when Django's ``setting_changed`` fires
(``override_settings`` in tests).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Leases: a running execution's owner renews its lease every HEARTBEAT_SECONDS; a lease not
    # renewed for LEASE_SECONDS is taken over by another worker (same-host dead owners at once).
    "LEASE_SECONDS": 30.0,
    "HEARTBEAT_SECONDS": 10.0,
    # Waits up to this long sleep inside the worker; longer ones become durable timers.
    "INLINE_WAIT_MAX_SECONDS": 5.0,
    # Execution-level retries of retryable failures (RetryableError, lost database connections).
    "EXECUTION_MAX_RETRIES": 3,
    "EXECUTION_RETRY_BASE_DELAY": 2.0,
    "EXECUTION_RETRY_MAX_DELAY": 300.0,
    # The reaper: re-queues lost work, fires timers, expires waits.
    "REAPER_INTERVAL_SECONDS": 1.0,
    "REAPER_IN_WORKER": True,
    "REDELIVER_AFTER_SECONDS": 15.0,
    # Redis for live event fan-out and result notifications (defaults to a redis:// broker URL).
    "REDIS_URL": None,
    # Where approval links point.
    "PUBLIC_URL": "http://127.0.0.1:8000",
    "APPROVAL_PATH": "/polos/approve/",
    # The Celery queue of executions without a named queue (None: the Celery app's default queue).
    "DEFAULT_QUEUE": None,
    # Modules of installed apps imported at start-up to register workflows (like admin.py).
    "AUTODISCOVER_MODULES": ["workflows", "agents"],
    # Extra modules to import at start-up (dotted paths).
    "WORKFLOW_MODULES": [],
    # Flow control (docs/flow-control.md): queue limits by name, {"llm": {"concurrency_limit": 5}};
    # global token buckets, {"llm:openai:requests": {"rate": 500, "per": 60, "burst": 50}};
    # a running execution still running this long after a cancel is killed (Celery revoke).
    "QUEUES": {},
    "RATE_LIMITS": {},
    "CANCEL_GRACE_SECONDS": 30.0,
    # A run task younger than this that frees a slot of a limited lane runs the lane's next execution
    # itself instead of sending its doorbell (polos_django.store.handoff); 0 turns hand-offs off.
    "LANE_HANDOFF_SECONDS": 0.2,
    # Schedules: occurrences missed by more than this are handled by the schedule's missed policy.
    "SCHEDULE_MISSED_GRACE_SECONDS": 300.0,
    # API: how long a verified API key is trusted without asking the database again (a revoked key
    # stops working at once in the process that revoked it, within this many seconds elsewhere).
    "API_KEY_CACHE_SECONDS": 5.0,
    # API: long-lived threads that run the API views' synchronous code (see polos_django.asgi).
    "API_THREADS": 8,
    # OpenTelemetry (docs/tracing.md): None exports when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set;
    # False never; True or {"endpoint", "headers", "service_name", "trace_url", ...} always.
    "OTEL": None,
    # Notification channels called on every suspend (docs/notifications.md): Channel instances or dicts
    # like {"type": "slack" | "email" | "sms", ...}; each delivery may take this long before it counts as failed.
    "NOTIFIERS": [],
    "NOTIFY_TIMEOUT_SECONDS": 15.0,
    # Worker presence (polos_django.presence): each worker refreshes its record this often; a record
    # not refreshed for three intervals expires (the worker is gone).
    "WORKER_HEARTBEAT_SECONDS": 10.0,
}

_ENV = {
    "REDIS_URL": "POLOS_REDIS_URL",
    "PUBLIC_URL": "POLOS_PUBLIC_URL",
    "LEASE_SECONDS": "POLOS_LEASE_SECONDS",
    "HEARTBEAT_SECONDS": "POLOS_HEARTBEAT_SECONDS",
    "REAPER_INTERVAL_SECONDS": "POLOS_REAPER_INTERVAL_SECONDS",
    "REDELIVER_AFTER_SECONDS": "POLOS_REDELIVER_AFTER_SECONDS",
    "INLINE_WAIT_MAX_SECONDS": "POLOS_INLINE_WAIT_MAX_SECONDS",
    "WORKER_HEARTBEAT_SECONDS": "POLOS_WORKER_HEARTBEAT_SECONDS",
    "LANE_HANDOFF_SECONDS": "POLOS_LANE_HANDOFF_SECONDS",
    "NOTIFY_TIMEOUT_SECONDS": "POLOS_NOTIFY_TIMEOUT_SECONDS",
}


class PolosSettings:
    """Attribute access to the merged settings (see module docstring)."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        merged = dict(DEFAULTS)
        for key, env in _ENV.items():
            if env in os.environ:
                default = DEFAULTS[key]
                raw = os.environ[env]
                merged[key] = type(default)(raw) if isinstance(default, int | float) else raw
        user = getattr(settings, "POLOS", {}) or {}
        unknown = set(user) - set(DEFAULTS)
        if unknown:
            from polos.exceptions import ConfigurationError

            raise ConfigurationError(
                f"unknown POLOS setting(s) {sorted(unknown)}; the known ones are listed in polos_django/conf.py"
            )
        merged.update(user)
        if merged["REDIS_URL"] is None:
            broker = getattr(settings, "CELERY_BROKER_URL", None) or os.environ.get("CELERY_BROKER_URL")
            if isinstance(broker, str) and broker.startswith(("redis://", "rediss://", "unix://")):
                merged["REDIS_URL"] = broker
        return merged

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._cache is None:
            self._cache = self._load()
        try:
            return self._cache[name]
        except KeyError:
            raise AttributeError(f"no Polos setting {name!r}") from None

    def reload(self) -> None:
        self._cache = None


polos_settings = PolosSettings()


def runtime_settings() -> Any:
    """The SDK's :class:`~polos.runtime.RuntimeSettings` built from ``POLOS``."""
    from polos.runtime import RuntimeSettings

    s = polos_settings
    return RuntimeSettings(
        lease_seconds=float(s.LEASE_SECONDS),
        heartbeat_seconds=float(s.HEARTBEAT_SECONDS),
        inline_wait_max_seconds=float(s.INLINE_WAIT_MAX_SECONDS),
        execution_max_retries=int(s.EXECUTION_MAX_RETRIES),
        execution_retry_base_delay=float(s.EXECUTION_RETRY_BASE_DELAY),
        execution_retry_max_delay=float(s.EXECUTION_RETRY_MAX_DELAY),
    )
