"""Stream reads straight from the event loop on PostgreSQL (``polos_django.api.stream_reads``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from polos.store import NewEvent
from polos_django.api import stream_reads, streams
from polos_django.store import get_store


def _publish(topic: str, project_id: str, n: int) -> list[int]:
    records = get_store().publish_events(topic, [NewEvent("tick", {"i": i}) for i in range(n)], project_id)
    return [r.sequence_id for r in records]


@pytest.fixture(autouse=True)
def _fresh_reader() -> Any:
    stream_reads.reset()
    yield
    stream_reads.reset()


async def test_direct_reads_answer_like_the_orm(transactional_db: Any) -> None:
    ids = await sync_to_async(_publish)("direct/a", "p1", 5)
    await sync_to_async(_publish)("direct/a", "p2", 2)  # another project's events on the same topic
    for after, since, limit in [(0, None, 500), (ids[1], None, 500), (0, None, 2), (ids[-1], None, 500)]:
        direct = await stream_reads.read_events("direct/a", "p1", after, since, limit)
        orm = await sync_to_async(streams.fetch_events)("direct/a", "p1", after, since, limit)
        if connection.vendor == "postgresql":
            assert direct == orm
        else:
            assert direct is None  # SQLite: the ORM serves every read
    early = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    if connection.vendor == "postgresql":
        assert await stream_reads.read_events("direct/a", "p1", 0, early, 500) == await sync_to_async(
            streams.fetch_events
        )("direct/a", "p1", 0, early, 500)
    events = await streams.read_events("direct/a", "p1", 0, None, 500)
    assert [e.sequence_id for e in events] == ids and [e.data for e in events] == [{"i": i} for i in range(5)]


async def test_direct_reads_can_be_turned_off(transactional_db: Any, settings: Any) -> None:
    settings.POLOS = {**settings.POLOS, "STREAM_DIRECT_READS": False}
    ids = await sync_to_async(_publish)("direct/off", "p1", 2)
    assert await stream_reads.read_events("direct/off", "p1", 0, None, 500) is None
    assert [e.sequence_id for e in await streams.read_events("direct/off", "p1", 0, None, 500)] == ids


async def test_direct_reads_can_be_turned_off_by_environment(transactional_db: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("POLOS_STREAM_DIRECT_READS", "0")
    await sync_to_async(_publish)("direct/env", "p1", 1)
    assert await stream_reads.read_events("direct/env", "p1", 0, None, 500) is None


async def test_an_unreachable_database_falls_back_to_the_orm(transactional_db: Any, monkeypatch: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    ids = await sync_to_async(_publish)("direct/down", "p1", 1)
    monkeypatch.setattr(stream_reads, "_conninfo", "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2")
    assert await stream_reads.read_events("direct/down", "p1", 0, None, 500) is None
    assert not stream_reads.enabled()  # not retried on every ring
    assert [e.sequence_id for e in await streams.read_events("direct/down", "p1", 0, None, 500)] == ids
