"""No ``fork()`` while a background thread is inside an SQLite transaction.

Celery's prefork pool forks a new child whenever one exits: a hard-killed task, a crash,
``--max-tasks-per-child``.  It forks from the worker's main process, where the reaper thread runs
(``engine.Reaper``).  If the reaper is inside a write transaction at that moment, the child inherits
SQLite's in-process record that "a connection of this process holds the write lock", a lock that
no thread of the child will ever release: every write of that child then fails with ``database is
locked`` after the busy timeout, for the rest of its life (see "Carrying an open database
connection across a fork()" in SQLite's *How To Corrupt An SQLite Database File*).

So a background thread does its database work inside :func:`database_work`, and a fork made by any
thread of the process waits until no such work is running (at most ``FORK_WAIT_SECONDS``).
Connections that are open but idle are harmless to inherit.  PostgreSQL has no such state in the
process, so the guard only applies to SQLite.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from django.db import connection

logger = logging.getLogger("polos.fork")

#: The longest a fork waits for database work of another thread to end before it goes ahead.
FORK_WAIT_SECONDS = 30.0

_guard = threading.RLock()
_held_for_fork = False


@contextlib.contextmanager
def database_work() -> Iterator[None]:
    """Keep this process from forking while the calling thread uses an SQLite database."""
    if connection.vendor != "sqlite":
        yield
        return
    with _guard:
        yield


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _guard.acquire(timeout=FORK_WAIT_SECONDS)
    if not _held_for_fork:
        logger.warning("forking while a thread still uses the database (waited %.0f s)", FORK_WAIT_SECONDS)


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _guard.release()


def _after_fork_in_child() -> None:
    # The copied lock is held by a thread that does not exist here: the child starts with a new one.
    global _guard, _held_for_fork
    _guard = threading.RLock()
    _held_for_fork = False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
