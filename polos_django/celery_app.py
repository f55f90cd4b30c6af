"""The Celery app Polos sends its messages with.

A Django project normally creates its Celery app in ``proj/celery.py`` and imports it from
``proj/__init__.py``.  A process that never imported it (a management command, a test runner, a
script) would otherwise fall back to Celery's unconfigured default app and send to
``amqp://localhost``.  Polos then builds an app from the Django settings (namespace ``CELERY_``)
instead, so doorbells always reach the configured broker.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, _state

logger = logging.getLogger("polos.celery")
_fallback: Celery | None = None
_lock = threading.Lock()


def get_celery_app() -> Any:
    """The project's current Celery app, or one configured from Django settings."""
    global _fallback
    app = _state.get_current_app()
    if app is not _state.default_app or app.main not in (None, "default"):
        return app
    with _lock:
        if _fallback is None:
            _fallback = Celery("polos", set_as_current=False)
            _fallback.config_from_object("django.conf:settings", namespace="CELERY")
            logger.info("no Celery app is loaded in this process: Polos uses one built from CELERY_* settings")
        return _fallback
