"""Test helpers shipped with Polos (``polos.testing``)."""

from __future__ import annotations

from .local import LocalRuntime, LocalRuntimeClient

__all__ = ["LocalRuntime", "LocalRuntimeClient"]
