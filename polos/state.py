"""Durable workflow state."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WorkflowState(BaseModel):
    """Base class of a workflow's ``state_schema``.

    ``ctx.state`` is an instance of the schema.  It is durable: changes made by workflow code are
    reproduced on replay, changes made inside a step are recorded with the step, and the latest state
    is stored with the execution whenever it waits or finishes.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")
