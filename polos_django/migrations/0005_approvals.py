"""Schema for approvals and notifications (issue 7)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("polos", "0004_agents")]

    operations: list[migrations.operations.base.Operation] = []
