"""Features with Polos' import paths: ``from polos.features import events``."""

from __future__ import annotations

from . import events

__all__ = ["events"]
