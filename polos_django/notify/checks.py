"""System check: the ``POLOS["NOTIFIERS"]`` entries build (``manage.py check``, start-up of every process)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from polos.exceptions import ConfigurationError


@register()
def check_notifiers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from ..conf import polos_settings
    from .config import build_channel

    errors: list[CheckMessage] = []
    entries = polos_settings.NOTIFIERS or []
    if not isinstance(entries, list | tuple):
        return [Error("POLOS['NOTIFIERS'] must be a list of channels", id="polos.E101")]
    for index, entry in enumerate(entries):
        try:
            build_channel(entry)
        except ConfigurationError as exc:
            errors.append(Error(f"POLOS['NOTIFIERS'][{index}]: {exc}", id="polos.E101"))
    return errors
