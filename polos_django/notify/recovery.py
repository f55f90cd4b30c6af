"""Notifications that outlive the worker sending them.

A suspend's notifications are sent right after it commits, by the process that ran the workflow
(:mod:`.dispatch`).  If that process dies first (a SIGKILL, a crash, a deploy), the suspend would
wait for an answer nobody was asked for.  So its wait row carries ``notify_due_at``, two
``NOTIFY_TIMEOUT_SECONDS`` after the suspend (a delivery takes at most one: the channels are
called at once, each with that timeout); a finished delivery clears it.  The reaper of every
process with channels configured delivers the suspends still due (:func:`redeliver`): claimed by
moving the due time on (compare-and-set, so one process takes each), delivered like the first time,
and cleared when done.

Delivery is therefore at least once: a worker that died after a channel accepted the message but
before recording it causes a second message.  Updating the messages once answered, and replying to
a channel that started an execution, are not redelivered.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection

from polos.store import WAIT_SUSPEND

from ..conf import polos_settings
from ..store import sql

logger = logging.getLogger("polos.notify")
BATCH = 20


def due_at(now: dt.datetime) -> dt.datetime:
    """When a suspend made at ``now`` is delivered again if its first delivery did not finish."""
    return now + dt.timedelta(seconds=2 * float(polos_settings.NOTIFY_TIMEOUT_SECONDS))


def delivered(execution_id: str, step_key: str) -> None:
    """The notifications of this suspend were sent (or failed for good): nothing more is due."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {sql.WAIT} SET notify_due_at = NULL WHERE execution_id = %s AND step_key = %s AND kind = %s "
            "AND notify_due_at IS NOT NULL",
            [execution_id, step_key, WAIT_SUSPEND],
        )


def redeliver(now: dt.datetime) -> int:
    """Reaper: deliver the notifications of suspends still due (in this process's channels)."""
    from .config import configured_channels
    from .dispatch import deliver, submit

    if not configured_channels():
        return 0
    now_db = sql.db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, execution_id, step_key, notify_due_at FROM {sql.WAIT} WHERE kind = %s "
            "AND notify_due_at < %s ORDER BY notify_due_at LIMIT %s",
            [WAIT_SUSPEND, now_db, BATCH],
        )
        rows = cursor.fetchall()
        count = 0
        for wait_id, execution_id, step_key, previous in rows:
            cursor.execute(
                f"UPDATE {sql.WAIT} SET notify_due_at = %s WHERE id = %s AND notify_due_at = %s",
                [sql.db_time(due_at(now)), wait_id, previous],
            )
            if cursor.rowcount != 1:
                continue  # another process took it
            cursor.execute(
                f"SELECT id, topic, event_type, data, created_at, execution_id FROM {sql.EVENT} "
                "WHERE execution_id = %s AND event_type = %s ORDER BY id DESC LIMIT 1",
                [execution_id, f"suspend_{step_key}"],
            )
            event = cursor.fetchone()
            if event is None:
                delivered(execution_id, step_key)
                continue
            logger.warning(
                "the notifications of %s/%s were not delivered in time (their worker died?): delivering them again",
                execution_id,
                step_key,
            )
            submit(deliver, sql.event_record(event))
            count += 1
    return count
