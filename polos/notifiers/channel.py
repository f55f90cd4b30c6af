"""The channel interface (Polos-compatible names and shapes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, Field

ChannelOutputMode = Literal["per_step", "final", "none"]
"""How a channel that started an execution hears about its progress: every step, the final answer, nothing."""


class ChannelContext(BaseModel):
    """Where an execution was started from (e.g. a Slack thread), so replies go back there.

    Attributes:
        channel_id: the channel type, ``"slack"``.
        source: channel-specific details, e.g. ``{"channel": "C123", "threadTs": "1712.0001"}``.
    """

    channel_id: str
    source: dict[str, Any] = Field(default_factory=dict)


class SuspendNotification(BaseModel):
    """What a channel is told when an execution suspends for a person.

    Attributes:
        workflow_id: the root workflow id.
        execution_id: the id of the suspended execution.
        step_key: the suspend's step key.
        approval_url: the signed approval page link.
        title: ``_form.title``.
        description: ``_form.description``.
        source: ``_source`` (``tool_approval``, ``exec_security``, ``ask_user``, ...).
        tool: ``_tool``, the tool that asked.
        context: ``_form.context`` (read-only details: a command, a diff).
        form_fields: ``_form.fields``.
        expires_at: ISO time after which the suspend times out.
        channel_overrides: this channel's entry of ``_notify`` (e.g. ``{"channel": "#ops"}``).
        channel_context: where the execution was started from, for thread routing.
        message: ``_notify.message``, a short text for channels that want one.
    """

    workflow_id: str
    execution_id: str
    step_key: str
    approval_url: str
    title: str | None = None
    description: str | None = None
    source: str | None = None
    tool: str | None = None
    context: dict[str, Any] | None = None
    form_fields: list[dict[str, Any]] | None = None
    expires_at: str | None = None
    channel_overrides: dict[str, Any] | None = None
    channel_context: ChannelContext | None = None
    message: str | None = None

    @property
    def is_simple_approval(self) -> bool:
        """Answerable with Approve / Reject alone (a boolean ``approved`` field)."""
        return any(f.get("key") == "approved" and f.get("type") == "boolean" for f in self.form_fields or ())


class Resolution(BaseModel):
    """How a suspend was answered (given to :meth:`Channel.resolved` to update what it sent)."""

    execution_id: str
    step_key: str
    answered_by: str | None = None
    via: str | None = None
    data: Any = None

    @property
    def approved(self) -> bool | None:
        value = self.data.get("approved") if isinstance(self.data, dict) else None
        return value if isinstance(value, bool) else None


class Channel(ABC):
    """A way to reach people when a workflow suspends.

    Implementations are stateless and safe to call concurrently; raise on failure (the runtime
    records it in the trace and carries on).
    """

    @property
    @abstractmethod
    def id(self) -> str:
        """The channel's name (``"slack"``, ``"email"``, ``"sms"``); ``_notify`` entries use it."""

    @abstractmethod
    async def notify(self, notification: SuspendNotification) -> dict[str, Any] | None:
        """Deliver ``notification``; return metadata to keep (e.g. a message id to update later)."""

    @property
    def output_mode(self) -> ChannelOutputMode | None:
        """How an execution this channel started reports back (``None``: the channel does not)."""
        return None

    async def send_output(self, context: ChannelContext, event: Any) -> None:  # noqa: B027 - optional hook
        """Report an execution's output back to where it was started from."""

    async def resolved(self, metadata: dict[str, Any], resolution: Resolution) -> None:  # noqa: B027
        """The suspend was answered: update what :meth:`notify` sent (``metadata`` is what it returned)."""
