"""Schema for flow control (issue 4): schedules, trigger cursors, lanes, priorities."""

from __future__ import annotations

import django.db.models.deletion
import django.db.models.functions.comparison
import django.utils.timezone
from django.db import migrations, models

import polos_django.models.flow


class Migration(migrations.Migration):
    dependencies = [("polos", "0002_projects_api_keys")]

    operations = [
        migrations.CreateModel(
            name="EventTrigger",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workflow_id", models.CharField(max_length=200, unique=True)),
                ("topic", models.CharField(db_index=True, max_length=512)),
                ("batch_size", models.IntegerField(default=1)),
                ("batch_timeout_seconds", models.FloatField(blank=True, null=True)),
                ("queue_name", models.CharField(blank=True, max_length=200, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "polos_event_trigger",
                "ordering": ["workflow_id"],
            },
        ),
        migrations.CreateModel(
            name="Schedule",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=polos_django.models.flow.new_schedule_id,
                        editable=False,
                        max_length=64,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("project_id", models.CharField(default="default", max_length=64)),
                ("workflow_id", models.CharField(db_index=True, max_length=200)),
                ("key", models.CharField(default="global", max_length=255)),
                ("cron", models.CharField(max_length=200)),
                ("timezone", models.CharField(default="UTC", max_length=64)),
                ("paused", models.BooleanField(default=False)),
                (
                    "missed_policy",
                    models.CharField(
                        choices=[("run_once", "Run Once"), ("skip", "Skip")], default="run_once", max_length=16
                    ),
                ),
                ("last_occurrence", models.DateTimeField()),
                ("next_occurrence", models.DateTimeField(blank=True, db_index=True, null=True)),
                ("queue_name", models.CharField(blank=True, max_length=200, null=True)),
                ("periodic_task_name", models.CharField(blank=True, max_length=200, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "polos_schedule",
                "ordering": ["created_at"],
            },
        ),
        migrations.CreateModel(
            name="ScheduleOccurrence",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("occurrence", models.DateTimeField()),
                ("execution_id", models.CharField(blank=True, max_length=36, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "polos_schedule_occurrence",
                "ordering": ["-occurrence"],
            },
        ),
        migrations.CreateModel(
            name="TriggerCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("project_id", models.CharField(default="default", max_length=64)),
                ("last_sequence", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "polos_trigger_cursor",
            },
        ),
        migrations.AddField(
            model_name="execution",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="execution",
            name="celery_task_id",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="execution",
            name="concurrency_limit",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="execution",
            name="priority",
            field=models.IntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="execution",
            index=models.Index(
                models.F("queue_name"),
                django.db.models.functions.comparison.Coalesce("concurrency_key", models.Value("")),
                models.F("status"),
                models.OrderBy(models.F("priority"), descending=True),
                models.F("created_at"),
                models.F("id"),
                name="polos_exec_lane_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="schedule",
            constraint=models.UniqueConstraint(
                fields=("project_id", "workflow_id", "key"), name="polos_schedule_unique_key"
            ),
        ),
        migrations.AddField(
            model_name="scheduleoccurrence",
            name="schedule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="occurrences", to="polos.schedule"
            ),
        ),
        migrations.AddField(
            model_name="triggercursor",
            name="trigger",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="cursors", to="polos.eventtrigger"
            ),
        ),
        migrations.AddConstraint(
            model_name="scheduleoccurrence",
            constraint=models.UniqueConstraint(
                fields=("schedule", "occurrence"), name="polos_schedule_occurrence_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="triggercursor",
            constraint=models.UniqueConstraint(fields=("trigger", "project_id"), name="polos_trigger_cursor_unique"),
        ),
    ]
