"""The step function returns the priority of each execution it wakes (PostgreSQL; a no-op on SQLite)."""

from __future__ import annotations

from django.db import migrations

from polos_django.store import stepfn


class Migration(migrations.Migration):
    dependencies = [("polos", "0008_wait_notify_due")]

    operations: list[migrations.operations.base.Operation] = [
        # Same signature, new body (CREATE OR REPLACE). Going back keeps it: the older code reads no
        # priority from the rows of woken executions and ignores the column.
        migrations.RunPython(stepfn.install, migrations.RunPython.noop, elidable=False),
    ]
