"""Schema for approvals and notifications (issue 7)."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("polos", "0004_agents")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ChannelOrigin",
            fields=[
                (
                    "execution",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="origin",
                        serialize=False,
                        to="polos.execution",
                    ),
                ),
                ("channel_id", models.CharField(max_length=64)),
                (
                    "source",
                    models.TextField(
                        default="{}", help_text="Channel-specific source (JSON), e.g. Slack channel and thread."
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"db_table": "polos_channel_origin"},
        ),
        migrations.CreateModel(
            name="SeenRequest",
            fields=[
                ("key", models.CharField(max_length=128, primary_key=True, serialize=False)),
                ("seen_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={"db_table": "polos_seen_request"},
        ),
        migrations.CreateModel(
            name="ShortLink",
            fields=[
                ("code", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("token", models.TextField(help_text="The signed approval token the code stands for.")),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"db_table": "polos_short_link"},
        ),
        migrations.CreateModel(
            name="PendingApproval",
            fields=[],
            options={
                "verbose_name": "pending approval",
                "ordering": ["-created_at"],
                "permissions": [("answer_pendingapproval", "Can approve, reject and answer pending approvals")],
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("polos.wait",),
        ),
        migrations.CreateModel(
            name="Approval",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("step_key", models.CharField(max_length=255)),
                (
                    "answered_by",
                    models.CharField(help_text="User name, e-mail address or Slack user.", max_length=255),
                ),
                ("channel", models.CharField(help_text="page, admin, slack, ...", max_length=32)),
                ("data", models.TextField(blank=True, help_text="The resume data (JSON).", null=True)),
                ("answered_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "execution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="approvals", to="polos.execution"
                    ),
                ),
            ],
            options={
                "db_table": "polos_approval",
                "ordering": ["-answered_at"],
                "constraints": [models.UniqueConstraint(fields=("execution", "step_key"), name="polos_approval_once")],
            },
        ),
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("step_key", models.CharField(max_length=255)),
                ("channel", models.CharField(max_length=64)),
                ("status", models.CharField(choices=[("sent", "sent"), ("failed", "failed")], max_length=16)),
                (
                    "detail",
                    models.TextField(blank=True, help_text="Channel metadata (JSON) or the error.", null=True),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "execution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="polos.execution",
                    ),
                ),
            ],
            options={
                "db_table": "polos_notification",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["execution", "step_key"], name="polos_notif_suspend_idx")],
            },
        ),
    ]
