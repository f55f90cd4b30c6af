"""Event reads of the streams on PostgreSQL, straight from the event loop (psycopg's async API).

Every open stream (SSE, websocket) reads the events after its cursor each time its Redis doorbell
rings.  Through Django's ORM that read is a trip to a worker thread (``database_sync_to_async``),
a connection checked out of the web process's pool and the ORM's query compilation: measured at
1.8-3.7 ms (p50) on a busy two-core machine, most of the stream's share of an event's latency.
Here the same query runs on the loop itself over a few long-lived ``psycopg.AsyncConnection``:
about 0.2 ms, with no thread hand-off.

The connections are per event loop (an async connection belongs to the loop that opened it), at
most ``MAX_CONNECTIONS`` per loop, shared by every stream of the process in turn; idle ones are
kept for the next read.  A connection that fails is dropped, and a read that cannot be served here
(another database, psycopg missing, the database refusing the connection) returns ``None``: the
caller falls back to the ORM.  Set ``POLOS["STREAM_DIRECT_READS"] = False`` (or the environment
variable ``POLOS_STREAM_DIRECT_READS=0``) to always use the ORM,
e.g. in tests that write events inside a transaction that is never committed (Django's
``TestCase``): these reads use their own connections and only see committed rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import weakref
from typing import Any

from polos.store import EventRecord

from ..conf import polos_settings
from ..store import sql

logger = logging.getLogger("polos.api")

_OFF = {"0", "false", "no", "off"}
MAX_CONNECTIONS = 4
MAX_IDLE = 2
# Django connection parameters that are not libpq's.
_NOT_LIBPQ = {"cursor_factory", "context", "prepare_threshold", "server_side_binding", "pool", "isolation_level"}


class _LoopConnections:
    """The async connections of one event loop: a few, reused one read at a time."""

    def __init__(self) -> None:
        self.idle: list[Any] = []
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def acquire(self, conninfo: str) -> Any:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        import psycopg

        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, prepare_threshold=None)

    async def release(self, conn: Any, broken: bool) -> None:
        if broken or conn.closed or len(self.idle) >= MAX_IDLE:
            with contextlib.suppress(Exception):  # already gone
                await conn.close()
            return
        self.idle.append(conn)

    def finish(self) -> None:
        """Close the idle connections without a loop (the loop that owned them is gone)."""
        idle, self.idle = self.idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.pgconn.finish()


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = weakref.WeakKeyDictionary()
_conninfo: str | None = None
_disabled_reason: str | None = None


def _libpq_conninfo() -> str | None:
    """The conninfo of the default database when it is PostgreSQL and psycopg 3 is installed."""
    global _conninfo, _disabled_reason
    if _conninfo is not None or _disabled_reason is not None:
        return _conninfo
    from django.db import connections

    conn = connections["default"]
    if conn.vendor != "postgresql":
        _disabled_reason = f"the database is {conn.vendor}"
        return None
    try:
        import psycopg
        from psycopg.conninfo import make_conninfo
    except ImportError:  # psycopg2: no async API
        _disabled_reason = "psycopg 3 is not installed"
        return None
    params = {k: v for k, v in conn.get_connection_params().items() if k not in _NOT_LIBPQ and v is not None}
    _conninfo = make_conninfo("", **{k: str(v) for k, v in params.items()})
    del psycopg
    return _conninfo


def enabled() -> bool:
    """Whether stream reads go straight to PostgreSQL from the loop (see module docstring)."""
    if not polos_settings.STREAM_DIRECT_READS or os.environ.get("POLOS_STREAM_DIRECT_READS", "").lower() in _OFF:
        return False
    return _libpq_conninfo() is not None and _disabled_reason is None


def reset() -> None:
    """Forget the connection parameters (and a disabled state): they are read again at the next read."""
    global _conninfo, _disabled_reason
    _conninfo = _disabled_reason = None


def _query(since: dt.datetime | None) -> str:
    return (
        f"SELECT id, topic, event_type, data, created_at, execution_id FROM {sql.EVENT} "
        "WHERE project_id = %s AND topic = %s AND id > %s"
        + (" AND created_at > %s" if since is not None else "")
        + " ORDER BY id LIMIT %s"
    )


async def read_events(
    topic: str, project_id: str, after: int, since: dt.datetime | None, limit: int
) -> list[EventRecord] | None:
    """Events of ``topic`` in ``project_id`` after ``after`` (and ``since``), oldest first, at most
    ``limit``: what :func:`polos_django.api.streams.fetch_events` answers.  ``None`` when this path
    cannot serve the read (the caller then uses the ORM)."""
    if not enabled():
        return None
    conninfo = _libpq_conninfo()
    assert conninfo is not None
    loop = asyncio.get_running_loop()
    pool = _per_loop.get(loop)
    if pool is None:
        pool = _per_loop[loop] = _LoopConnections()
        weakref.finalize(loop, pool.finish)
    params: list[Any] = [project_id, topic, after]
    if since is not None:
        params.append(since)
    params.append(limit)
    async with pool.slots:
        try:
            conn = await pool.acquire(conninfo)
        except Exception as exc:
            # Not worth retrying on every ring: this process reads through the ORM from now on.
            global _disabled_reason
            _disabled_reason = f"cannot connect: {exc}"
            logger.warning(
                "stream reads: cannot connect to PostgreSQL from the event loop (%s); reading "
                "through the ORM from now on",
                exc,
            )
            return None
        broken = True
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(_query(since), params)
                rows = await cursor.fetchall()
            broken = False
        except Exception:
            logger.warning("stream reads: a direct read failed; using the ORM for this one", exc_info=True)
            return None
        finally:
            await pool.release(conn, broken)
    return [sql.event_record(row) for row in rows]
