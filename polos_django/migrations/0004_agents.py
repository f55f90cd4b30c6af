"""Schema for agents (issue 5): conversation log, session memory."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("polos", "0003_flow")]

    operations: list[migrations.operations.base.Operation] = []
