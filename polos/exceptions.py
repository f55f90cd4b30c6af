"""The exception tree of Polos.

Every error a user can cause derives from :class:`PolosError`.  The two control-flow signals used
by the runtime (:class:`WorkflowSuspended`, :class:`WorkflowCancelled`) derive from
:class:`BaseException` so that workflow code written as ``except Exception:`` cannot swallow them.
Every exception pickles: they cross process boundaries inside Celery.
"""

from __future__ import annotations

from typing import Any


class PolosError(Exception):
    """Base class of every error raised by Polos.

    Attributes:
        code: a stable, machine-readable identifier (also the ``code`` of HTTP API errors).
    """

    code = "polos_error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword details would be lost by BaseException's default pickling.
        return (_rebuild_error, (type(self), self.message, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild_error(cls: type[PolosError], message: str, details: dict[str, Any]) -> PolosError:
    error = cls.__new__(cls)
    PolosError.__init__(error, message, **details)
    return error


# --- mistakes in how Polos is used ------------------------------------------------------------


class ConfigurationError(PolosError):
    """Polos is configured or called in a way that cannot work (the message says how to fix it)."""

    code = "configuration_error"


class WorkflowDefinitionError(ConfigurationError):
    """A ``@workflow`` (or agent, tool) definition is invalid."""

    code = "invalid_definition"


class WorkflowNotFoundError(PolosError):
    """No workflow with the requested id is registered in this process."""

    code = "workflow_not_found"


class ExecutionNotFoundError(PolosError):
    """No execution with the requested id exists (or it belongs to another project)."""

    code = "execution_not_found"


class PayloadValidationError(PolosError):
    """A payload does not match the workflow's payload model."""

    code = "invalid_payload"


class InvalidStateError(PolosError):
    """The operation does not apply to the execution in its current state."""

    code = "invalid_state"


class NotResumableError(InvalidStateError):
    """``resume`` named an execution that is not waiting for that step key."""

    code = "not_waiting"


class NonDeterminismError(PolosError):
    """A replay diverged from the recorded history.

    Raised when a step key is used twice in one run, or when a replay asks for a different kind of
    step under a key that is already recorded.  Workflow code must call the same steps, with the same
    keys, in the same order on every run; anything that varies belongs inside a step.
    """

    code = "non_determinism"


class SerializationError(PolosError):
    """A value cannot be stored as JSON (payloads, step results, state)."""

    code = "serialization_error"


# --- failures while running ----------------------------------------------------------------------


class StepExecutionError(PolosError):
    """A step failed for good (after its retries), or a child workflow failed.

    The same error is raised again on every replay of the workflow, so ``try/except`` around a step is
    deterministic.

    Attributes:
        step_key: the key of the failed step.
        error_type: the class name of the original error.
    """

    code = "step_failed"

    @property
    def step_key(self) -> str | None:
        return self.details.get("step_key")

    @property
    def error_type(self) -> str | None:
        return self.details.get("error_type")


class StepTimeoutError(StepExecutionError):
    """A suspend or an event wait was not satisfied before its timeout."""

    code = "step_timeout"


class WorkflowTimeoutError(PolosError):
    """An execution ran longer than its ``run_timeout_seconds``, or a caller's wait timed out."""

    code = "timeout"


class RetryableError(PolosError):
    """Raise from workflow code to ask for the whole execution to be retried with backoff."""

    code = "retryable"


class ExecutionFailedError(PolosError):
    """Waiting for a result found that the execution failed or was cancelled."""

    code = "execution_failed"


class RateLimitTimeoutError(PolosError):
    """A rate-limit bucket did not have the tokens asked for within the caller's timeout."""

    code = "rate_limited"


class ScheduleNotFoundError(PolosError):
    """No schedule with that id (in this project)."""

    code = "schedule_not_found"


class ApprovalLinkError(PolosError):
    """An approval link is forged, damaged or was signed with another ``SECRET_KEY``."""

    code = "approval_link_invalid"


class ApprovalLinkExpiredError(ApprovalLinkError):
    """An approval link's suspend timed out; the request it answered is closed."""

    code = "approval_link_expired"


class AlreadyAnsweredError(NotResumableError):
    """The suspend was already answered (approval links and buttons work once)."""

    code = "already_answered"


class NotificationError(PolosError):
    """A notification channel could not deliver a suspend notification (recorded, never raised into a workflow)."""

    code = "notification_failed"


class SlackSignatureError(PolosError):
    """A request claiming to come from Slack has no valid signature, a stale timestamp, or is a replay."""

    code = "slack_signature_invalid"


# --- control-flow signals (never caught by ``except Exception``) -------------------------------


class ExecutionSignal(BaseException):
    """Base of the signals that end a run early without failing it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args)


class WorkflowSuspended(ExecutionSignal):
    """The execution is waiting (timer, event, human, child workflow); the worker is released."""


class WorkflowCancelled(ExecutionSignal):
    """The execution was cancelled; raised at the next step boundary."""


class LeaseLost(ExecutionSignal):
    """This worker no longer owns the execution (its lease expired and another worker took it over)."""


__all__ = [
    "AlreadyAnsweredError",
    "ApprovalLinkError",
    "ApprovalLinkExpiredError",
    "ConfigurationError",
    "ExecutionFailedError",
    "ExecutionNotFoundError",
    "ExecutionSignal",
    "InvalidStateError",
    "LeaseLost",
    "NonDeterminismError",
    "NotResumableError",
    "NotificationError",
    "PayloadValidationError",
    "PolosError",
    "RateLimitTimeoutError",
    "RetryableError",
    "ScheduleNotFoundError",
    "SerializationError",
    "SlackSignatureError",
    "StepExecutionError",
    "StepTimeoutError",
    "WorkflowCancelled",
    "WorkflowDefinitionError",
    "WorkflowNotFoundError",
    "WorkflowSuspended",
    "WorkflowTimeoutError",
]
