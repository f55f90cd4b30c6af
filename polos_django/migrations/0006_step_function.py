"""The PostgreSQL function that records a step with user events in one round trip (a no-op on SQLite)."""

from __future__ import annotations

from django.db import migrations

from polos_django.store import stepfn


class Migration(migrations.Migration):
    dependencies = [("polos", "0005_approvals")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RunPython(stepfn.install, stepfn.uninstall, elidable=False),
    ]
