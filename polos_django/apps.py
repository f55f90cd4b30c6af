"""The Django app of the Polos runtime (label ``polos``)."""

from __future__ import annotations

from django.apps import AppConfig


class PolosConfig(AppConfig):
    name = "polos_django"
    label = "polos"
    verbose_name = "Polos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, conversations, signals, worker_signals  # noqa: F401  (signal receivers, checks)
        from .discovery import autodiscover
        from .notify import checks as notify_checks  # noqa: F401  (system check of POLOS["NOTIFIERS"])

        conversations.bind()  # agents keep their conversations in the database
        autodiscover()
        from polos.tracing import configure_from_settings

        from .conf import polos_settings

        configure_from_settings(polos_settings.OTEL)  # spans exported only when configured
