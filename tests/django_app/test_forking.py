"""A fork waits for database work of another thread (SQLite: polos_django.forking)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from polos_django.models import Project
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in a process of its own: the test process has threads of its own (in-process workers, the
# live publisher) that may be inside SQLite at any moment, and a child forked from it could not
# safely open a database at all.  Here the only other thread is the "reaper".
PROBE = """
import os, signal, sqlite3, sys, threading, time

import django

django.setup()
from django.db import connection, transaction

from polos_django.forking import database_work
from polos_django.models import Project

inside = threading.Event()


def reaper_pass():
    with database_work():  # as engine.Reaper: all its database calls inside the guard
        try:
            with transaction.atomic():
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
    signal.alarm(10)
    code = 1
    try:
        probe = sqlite3.connect(sys.argv[1], timeout=2, isolation_level=None)
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        code = 0
    finally:
        os._exit(code)
waited = time.monotonic() - started
thread.join()
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), waited)
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the guard is for SQLite's in-process lock state")
def test_a_child_forked_while_the_reaper_writes_can_still_write() -> None:
    # A prefork pool replaces a killed child while the reaper thread is in a write transaction:
    # without the guard, the new child inherits "this process holds the write lock" and every write
    # it makes fails with "database is locked".
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    path = str(connection.settings_dict["NAME"])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, path], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    child_exit, waited = done.stdout.split()[-2:]
    assert child_exit == "0", "the forked child could not write: database is locked"
    assert float(waited) >= 0.3  # the fork waited for the transaction to end
    assert Project.objects.filter(name="written by the reaper thread").exists()
