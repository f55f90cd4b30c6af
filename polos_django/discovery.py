"""Import the modules that define workflows, like Django's admin autodiscovery."""

from __future__ import annotations

import importlib

from django.utils.module_loading import autodiscover_modules

from .conf import polos_settings


def autodiscover() -> None:
    """Import ``workflows.py`` / ``agents.py`` of every installed app and ``POLOS['WORKFLOW_MODULES']``."""
    for name in polos_settings.AUTODISCOVER_MODULES:
        autodiscover_modules(name)
    for dotted in polos_settings.WORKFLOW_MODULES:
        importlib.import_module(dotted)
