"""The Django implementation of :class:`polos.store.ExecutionStore`."""

from __future__ import annotations

from .store import DjangoStore, get_store

__all__ = ["DjangoStore", "get_store"]
