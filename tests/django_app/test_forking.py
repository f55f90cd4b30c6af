"""A fork waits for database work of another thread (SQLite: polos_django.forking)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from django.db import connection, transaction

from polos_django.forking import database_work
from polos_django.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the guard is for SQLite's in-process lock state")
def test_a_child_forked_while_the_reaper_writes_can_still_write() -> None:
    # A prefork pool replaces a killed child while the reaper thread is in a write transaction:
    # without the guard, the new child inherits "this process holds the write lock" and every write
    # it makes fails with "database is locked".
    path = str(connection.settings_dict["NAME"])
    inside = threading.Event()

    def reaper_pass() -> None:
        try:
            with database_work(), transaction.atomic():
                Project.objects.create(name="written by the reaper thread")
                inside.set()
                time.sleep(0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=reaper_pass)
    thread.start()
    assert inside.wait(10)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: one write through a connection of its own, then leave without cleanup
        code = 1
        try:
            probe = sqlite3.connect(path, timeout=2, isolation_level=None)
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            code = 0
        finally:
            os._exit(code)
    waited = time.monotonic() - started
    thread.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child could not write: database is locked"
    assert waited >= 0.3  # the fork waited for the transaction to end
    assert Project.objects.filter(name="written by the reaper thread").exists()
