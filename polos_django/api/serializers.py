"""Request and response shapes of the API (requests are validated here; responses are documented).

Responses are built from :func:`polos.invocation.execution_dict` / ``handle_for`` so that the HTTP
API answers exactly like the in-process client.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from polos.store import FINISHED_STATUSES, QUEUED, RUNNING, WAITING

STATUSES = sorted({QUEUED, RUNNING, WAITING, *FINISHED_STATUSES})
MAX_BATCH = 1000
MAX_OFFSET = 10**9
MAX_SEQUENCE = 2**63 - 1  # sequence ids are 64-bit database ids


class _AnyJSON(serializers.JSONField):
    """Any JSON value, ``null`` included."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)


def _identifier(max_length: int = 255, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_null=True, default=None, **kwargs)


# --- requests -----------------------------------------------------------------------------------


class InvokeRequest(serializers.Serializer):
    payload = _AnyJSON(help_text="The workflow's payload (validated against its payload model).")
    queue_name = _identifier(200, help_text="Queue to run in (default: the workflow's own queue).")
    queue_concurrency_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    concurrency_key = _identifier()
    session_id = _identifier()
    user_id = _identifier()
    initial_state = _AnyJSON(help_text="Initial WorkflowState (validated against the workflow's state_schema).")
    run_timeout_seconds = serializers.FloatField(
        min_value=0.001, max_value=10**9, required=False, allow_null=True, default=None
    )
    priority = serializers.IntegerField(
        min_value=-1_000_000,
        max_value=1_000_000,
        required=False,
        default=0,
        help_text="Order within the (queue, concurrency key) lane: higher first, FIFO within a priority.",
    )
    wait_seconds = serializers.FloatField(
        min_value=0,
        max_value=300,
        required=False,
        default=0.0,
        help_text="Also wait up to this many seconds for the execution to finish and answer with its result "
        "(`result`); 0 answers at once. The execution is not affected when the wait ends first.",
    )


class BatchItem(serializers.Serializer):
    id = serializers.CharField(max_length=200, help_text="The workflow id.")
    payload = _AnyJSON()
    initial_state = _AnyJSON()
    run_timeout_seconds = serializers.FloatField(
        min_value=0.001, max_value=10**9, required=False, allow_null=True, default=None
    )


class BatchInvokeRequest(serializers.Serializer):
    workflows = BatchItem(many=True, allow_empty=False, max_length=MAX_BATCH)
    session_id = _identifier()
    user_id = _identifier()


class ResumeRequest(serializers.Serializer):
    step_key = serializers.CharField(max_length=255, help_text="The key passed to ctx.step.suspend().")
    data = _AnyJSON(help_text="The resume data; the suspended step returns {'data': ...}.")
    execution_id = _identifier(
        36, help_text="The suspended execution when several in the tree wait on the same step key."
    )


class PublishRequest(serializers.Serializer):
    topic = serializers.CharField(max_length=512)
    event_type = _identifier()
    data = _AnyJSON()


class EventItem(serializers.Serializer):
    event_type = _identifier()
    data = _AnyJSON()


class BatchPublishRequest(serializers.Serializer):
    topic = serializers.CharField(max_length=512)
    events = EventItem(many=True, allow_empty=False, max_length=MAX_BATCH)


class ExecutionFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    workflow_id = serializers.CharField(max_length=200, required=False)
    session_id = serializers.CharField(max_length=255, required=False)
    root_execution_id = serializers.CharField(max_length=36, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False, default=0)


class EventFilters(serializers.Serializer):
    topic = serializers.CharField(max_length=512)
    after = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, default=0, help_text="Sequence id cursor."
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class ResultQuery(serializers.Serializer):
    timeout = serializers.FloatField(
        min_value=0, max_value=300, required=False, default=30.0, help_text="Seconds to wait (at most 300)."
    )


class StreamQuery(serializers.Serializer):
    topic = serializers.CharField(max_length=512, required=False)
    workflow_id = serializers.CharField(max_length=200, required=False)
    workflow_run_id = serializers.CharField(max_length=36, required=False)
    last_sequence_id = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, allow_null=True, default=None
    )
    last_timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None)
    project_id = serializers.CharField(max_length=64, required=False, help_text="Same as X-Project-ID.")


class RunStreamQuery(serializers.Serializer):
    last_sequence_id = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, allow_null=True, default=None
    )
    last_timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None)
    project_id = serializers.CharField(max_length=64, required=False, help_text="Same as X-Project-ID.")


# --- responses (documentation) ------------------------------------------------------------------


class ExecutionHandleResponse(serializers.Serializer):
    id = serializers.CharField()
    workflow_id = serializers.CharField()
    created_at = serializers.CharField(allow_null=True)
    parent_execution_id = serializers.CharField(allow_null=True)
    root_workflow_id = serializers.CharField()
    root_execution_id = serializers.CharField()
    session_id = serializers.CharField(allow_null=True)
    user_id = serializers.CharField(allow_null=True)
    step_key = serializers.CharField(allow_null=True)


class BatchInvokeResponse(serializers.Serializer):
    executions = ExecutionHandleResponse(many=True)


class ExecutionResponse(serializers.Serializer):
    id = serializers.CharField()
    workflow_id = serializers.CharField()
    workflow_type = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    payload = serializers.JSONField(allow_null=True)
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_null=True)
    state = serializers.JSONField(allow_null=True)
    project_id = serializers.CharField()
    parent_execution_id = serializers.CharField(allow_null=True)
    root_execution_id = serializers.CharField()
    root_workflow_id = serializers.CharField()
    step_key = serializers.CharField(allow_null=True)
    session_id = serializers.CharField(allow_null=True)
    user_id = serializers.CharField(allow_null=True)
    queue_name = serializers.CharField(allow_null=True)
    concurrency_key = serializers.CharField(allow_null=True)
    retry_count = serializers.IntegerField()
    attempt = serializers.IntegerField()
    run_timeout_seconds = serializers.FloatField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    created_at = serializers.CharField(allow_null=True)
    started_at = serializers.CharField(allow_null=True)
    completed_at = serializers.CharField(allow_null=True)


class ExecutionPage(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)
    results = ExecutionResponse(many=True)


class ResultResponse(serializers.Serializer):
    execution_id = serializers.CharField()
    workflow_id = serializers.CharField()
    status = serializers.ChoiceField(choices=sorted(FINISHED_STATUSES))
    result = serializers.JSONField(allow_null=True, help_text="The result as plain JSON.")
    encoded_result = serializers.CharField(
        allow_null=True, help_text="The result as stored (pydantic models keep their class for the SDK)."
    )
    error = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_null=True, help_text="Why the execution did not complete.")


class CancelResponse(serializers.Serializer):
    cancelled = serializers.BooleanField(help_text="False when the execution had already finished.")
    status = serializers.CharField()


class ResumeResponse(serializers.Serializer):
    sequence_id = serializers.IntegerField(help_text="Sequence id of the resume_{step_key} event.")
    execution_id = serializers.CharField(allow_null=True, help_text="The execution that was resumed.")


class EventResponse(serializers.Serializer):
    id = serializers.CharField()
    sequence_id = serializers.IntegerField()
    topic = serializers.CharField()
    event_type = serializers.CharField(allow_null=True)
    data = serializers.JSONField(allow_null=True)
    created_at = serializers.CharField()
    execution_id = serializers.CharField(allow_null=True)


class EventPage(serializers.Serializer):
    events = EventResponse(many=True)
    next_after = serializers.IntegerField(help_text="Pass as ?after= to read on.")
    has_more = serializers.BooleanField()


class PublishResponse(serializers.Serializer):
    sequence_id = serializers.IntegerField()


class BatchPublishResponse(serializers.Serializer):
    sequence_ids = serializers.ListField(child=serializers.IntegerField())


class WorkflowResponse(serializers.Serializer):
    id = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    type = serializers.CharField()
    queue = serializers.CharField(allow_null=True)
    queue_concurrency_limit = serializers.IntegerField(allow_null=True)
    schedule = serializers.JSONField(allow_null=True)
    trigger = serializers.JSONField(allow_null=True)
    source = serializers.ChoiceField(choices=["server", "worker"])
    last_seen = serializers.CharField(allow_null=True, help_text="When a worker last announced it.")
    available = serializers.BooleanField(
        allow_null=True,
        help_text="Whether a live worker serves it now (null: worker presence unknown, no Redis). An announced "
        "workflow whose workers all stopped stays listed with false.",
    )
    workers = serializers.ListField(
        child=serializers.CharField(), help_text="Hostnames of the live workers serving it."
    )


class WorkflowList(serializers.Serializer):
    workflows = WorkflowResponse(many=True)


class ErrorResponse(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The request field at fault.")


class RunResponse(ExecutionHandleResponse):
    result = ResultResponse(
        allow_null=True,
        required=False,
        help_text="With `wait_seconds`: the outcome (as from the result endpoint) if the execution finished "
        "within the wait, else null.",
    )
