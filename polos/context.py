"""The workflow context (``ctx``) handed to workflow functions."""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import TYPE_CHECKING, Any

from .state import WorkflowState

if TYPE_CHECKING:
    from .runtime import ExecutionRun
    from .steps import Step

_current: contextvars.ContextVar[WorkflowContext | None] = contextvars.ContextVar("polos_context", default=None)


def current_context() -> WorkflowContext | None:
    """The context of the execution running in this task, if any."""
    return _current.get()


class WorkflowContext:
    """Everything a workflow function knows about its execution.

    Attributes:
        workflow_id: the id of the running workflow.
        execution_id: the id of this execution.
        parent_execution_id: the invoking execution, for child workflows.
        root_execution_id / root_workflow_id: the top of the invocation tree.
        retry_count: how many execution-level retries happened before this run.
        created_at: when the execution was created.
        session_id / user_id: passed at invoke time (children inherit them).
        workflow_type: ``"workflow"``, ``"agent"`` or ``"tool"``.
        state: the durable :class:`WorkflowState`, when the workflow declares ``state_schema``.
        step: the durable step primitives (:class:`polos.steps.Step`).
    """

    def __init__(self, run: ExecutionRun, state: WorkflowState | None) -> None:
        from .steps import Step

        record = run.claim.execution
        self._run = run
        self.workflow_id: str = record.workflow_id
        self.execution_id: str = record.id
        self.parent_execution_id: str | None = record.parent_execution_id
        self.root_execution_id: str = record.root_execution_id or record.id
        self.root_workflow_id: str = record.root_workflow_id or record.workflow_id
        self.retry_count: int = record.retry_count
        self.created_at: dt.datetime = record.created_at
        self.session_id: str | None = record.session_id
        self.user_id: str | None = record.user_id
        self.workflow_type: str = record.workflow_type
        self.project_id: str = record.project_id
        self.state: Any = state
        self.step: Step = Step(run, self)

    @property
    def topic(self) -> str:
        """The event topic of this execution tree: ``workflow/{root_workflow_id}/{root_execution_id}``."""
        return f"workflow/{self.root_workflow_id}/{self.root_execution_id}"

    def __repr__(self) -> str:
        return f"<WorkflowContext {self.workflow_id} {self.execution_id}>"


class AgentContext(WorkflowContext):
    """The context of an agent's execution: a :class:`WorkflowContext` plus the agent's identity.

    Attributes:
        agent_id: the agent's id (same as ``workflow_id``).
        conversation_id: the conversation the run reads and appends to (set when the run starts).
        model / provider: the agent's model and provider name.
    """

    def __init__(self, run: ExecutionRun, state: WorkflowState | None) -> None:
        super().__init__(run, state)
        agent = run.workflow
        self.agent_id: str = self.workflow_id
        self.conversation_id: str | None = None
        self.model: str | None = getattr(agent, "model", None)
        provider = getattr(agent, "provider", None)
        self.provider: str | None = provider if isinstance(provider, str) else getattr(provider, "name", None)
