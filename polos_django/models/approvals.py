"""Tables for approvals and notifications.

- :class:`Approval`: who answered a suspend, when and through what (one row per suspend, so a link,
  a Slack button or an admin action works once).
- :class:`PendingApproval`: the suspend waits still open (a proxy of ``Wait``: the admin inbox).
- :class:`Notification`: one delivery of a suspend notification through a channel (the Slack
  message to update once the suspend is answered; failures are trace events as well).
- :class:`ShortLink`: short approval links for SMS.
- :class:`ChannelOrigin`: where an execution was started from (a Slack thread), so its
  notifications and final answer go back there.
- :class:`SeenRequest`: signatures of inbound webhook requests already handled (replay guard).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from .core import Execution, Wait


class Approval(models.Model):
    """The answer to one suspend."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="approvals")
    step_key = models.CharField(max_length=255)
    answered_by = models.CharField(max_length=255, help_text="User name, e-mail address or Slack user.")
    channel = models.CharField(max_length=32, help_text="page, admin, slack, ...")
    data = models.TextField(null=True, blank=True, help_text="The resume data (JSON).")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_approval"
        ordering = ["-answered_at"]
        constraints = [models.UniqueConstraint(fields=["execution", "step_key"], name="polos_approval_once")]

    def __str__(self) -> str:
        return f"{self.execution_id}/{self.step_key} by {self.answered_by}"


class PendingApprovalManager(models.Manager["PendingApproval"]):
    def get_queryset(self) -> models.QuerySet[PendingApproval]:
        return super().get_queryset().filter(kind="suspend")


class PendingApproval(Wait):
    """A suspend still waiting for an answer (the admin's approvals inbox)."""

    objects: Any = PendingApprovalManager()

    class Meta:
        proxy = True
        verbose_name = "pending approval"
        ordering = ["-created_at"]
        permissions = [("answer_pendingapproval", "Can approve, reject and answer pending approvals")]


class Notification(models.Model):
    """One delivery (or failed delivery) of a suspend notification."""

    SENT = "sent"
    FAILED = "failed"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="notifications")
    step_key = models.CharField(max_length=255)
    channel = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=[(SENT, "sent"), (FAILED, "failed")])
    detail = models.TextField(null=True, blank=True, help_text="Channel metadata (JSON) or the error.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_notification"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["execution", "step_key"], name="polos_notif_suspend_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} for {self.execution_id}/{self.step_key}"


class ShortLink(models.Model):
    """A short code standing for an approval link (SMS)."""

    code = models.CharField(primary_key=True, max_length=32)
    token = models.TextField(help_text="The signed approval token the code stands for.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_short_link"

    def __str__(self) -> str:
        return self.code


class ChannelOrigin(models.Model):
    """The channel an execution was started from (``ChannelContext``)."""

    execution = models.OneToOneField(Execution, on_delete=models.CASCADE, primary_key=True, related_name="origin")
    channel_id = models.CharField(max_length=64)
    source = models.TextField(default="{}", help_text="Channel-specific source (JSON), e.g. Slack channel and thread.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_channel_origin"

    def __str__(self) -> str:
        return f"{self.channel_id} → {self.execution_id}"


class SeenRequest(models.Model):
    """An inbound webhook request already handled (its signature), kept for the replay window."""

    key = models.CharField(primary_key=True, max_length=128)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "polos_seen_request"

    def __str__(self) -> str:
        return self.key


__all__ = ["Approval", "ChannelOrigin", "Notification", "PendingApproval", "SeenRequest", "ShortLink"]
