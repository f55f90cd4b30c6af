"""The hard end of a cancel: a running execution that ignores it past the grace period is killed.

``cancel`` marks a running execution ``cancel_requested``; its worker stops it at the next step
boundary.  A step that never returns (a long ``time.sleep``, a hung call) would hold it forever, so
after ``POLOS["CANCEL_GRACE_SECONDS"]`` the reaper revokes the Celery task of the running attempt
with ``terminate=True, signal="SIGKILL"`` (recorded on claim).  The killed process's execution is
then taken back like any crashed one and, on its next claim, finishes ``cancelled``.  The grace
period counts from the cancel or, for an attempt claimed after it, from that claim: such an attempt
stops at its first boundary, and killing it on the way there would only requeue it, again and again.

Revoking needs a worker that can act on control messages while a task runs: Celery's prefork pool
(the default) does; ``--pool=solo`` cannot, and such workers stop only at the next step boundary.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection

from polos.store import RUNNING

from ..celery_app import get_celery_app
from ..conf import polos_settings
from . import sql

logger = logging.getLogger("polos.cancel")


def kill_overdue(now: dt.datetime) -> int:
    """Revoke (SIGKILL) the tasks of running executions cancelled more than the grace period ago."""
    cutoff = sql.db_time(now - dt.timedelta(seconds=float(polos_settings.CANCEL_GRACE_SECONDS)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, celery_task_id FROM {sql.EXECUTION} WHERE status = %s AND cancel_requested = %s "
            "AND cancel_requested_at < %s AND celery_task_id IS NOT NULL LIMIT 100",
            [RUNNING, True, cutoff],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        app = get_celery_app()
        killed = 0
        for execution_id, task_id in rows:
            try:
                app.control.revoke(task_id, terminate=True, signal="SIGKILL")
            except Exception:
                logger.exception("could not revoke the task of cancelled execution %s", execution_id)
                continue
            # Once per grace period: a revoke whose broadcast was lost is sent again after another one.
            cursor.execute(
                f"UPDATE {sql.EXECUTION} SET cancel_requested_at = %s WHERE id = %s AND celery_task_id = %s",
                [sql.db_time(now), execution_id, task_id],
            )
            logger.warning("execution %s ignored its cancel for too long: task %s killed", execution_id, task_id)
            killed += 1
    return killed
