"""Schema for agents (issue 5): conversation log, session memory."""

from __future__ import annotations

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("polos", "0003_flow")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="AgentMemory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=512, unique=True)),
                ("value", models.TextField()),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name_plural": "agent memory",
                "db_table": "polos_agent_memory",
            },
        ),
        migrations.CreateModel(
            name="AgentMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("conversation_id", models.CharField(max_length=255)),
                ("position", models.IntegerField()),
                ("data", models.TextField(help_text="The message as JSON (polos.llm.Message)")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "polos_agent_message",
                "ordering": ["conversation_id", "position"],
                "constraints": [
                    models.UniqueConstraint(fields=("conversation_id", "position"), name="polos_agent_message_position")
                ],
            },
        ),
    ]
