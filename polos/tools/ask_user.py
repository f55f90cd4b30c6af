"""``create_ask_user_tool()``: a tool the model calls to ask the human a question.

The call suspends the tool's execution with a form (``_source: "ask_user"``); whatever the person
submits is returned to the model as the tool result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .tool import Tool

if TYPE_CHECKING:
    from ..context import WorkflowContext


class AskUserFieldOption(BaseModel):
    """One choice of a ``select`` field."""

    label: str
    value: str


class AskUserField(BaseModel):
    """One field of the form shown to the user."""

    key: str = Field(description="Name of the answer in the result")
    type: Literal["text", "textarea", "number", "boolean", "select"] = "text"
    label: str
    required: bool = False
    default: Any | None = None
    description: str | None = None
    options: list[AskUserFieldOption] | None = Field(default=None, description="Choices, for type 'select'")


class AskUserInput(BaseModel):
    """What the model sends: the question and, optionally, a structured form."""

    question: str = Field(description="The question to ask the user")
    title: str | None = Field(default=None, description="A short title for the form")
    fields: list[AskUserField] | None = Field(
        default=None, description="Form fields; omit for a single free-text answer (key 'response')"
    )


DEFAULT_FIELDS = [AskUserField(key="response", type="textarea", label="Your answer", required=True)]


class AskUserTool(Tool):
    """Ask the human a question and return their answer (see :func:`create_ask_user_tool`)."""

    def __init__(self, id: str = "ask_user", description: str | None = None, timeout: float | None = None) -> None:
        self.timeout = timeout
        super().__init__(
            id=id,
            description=description
            or (
                "Ask the user a question and wait for the answer. Use it when you need information or a "
                "decision only the user can give. Returns the submitted form values."
            ),
            input_model=AskUserInput,
        )

    async def execute(self, ctx: WorkflowContext, input: BaseModel | dict[str, Any] | None) -> Any:
        question = input if isinstance(input, AskUserInput) else AskUserInput.model_validate(input or {})
        fields = question.fields or DEFAULT_FIELDS
        form = {
            "title": question.title or "The agent has a question",
            "description": question.question,
            "fields": [f.model_dump(exclude_none=True) for f in fields],
            "context": {"question": question.question},
        }
        answer = await ctx.step.suspend(
            f"ask_user_{ctx.execution_id}",
            {"_form": form, "_source": "ask_user", "_tool": self.id},
            timeout=self.timeout,
        )
        data = answer.get("data") if isinstance(answer, dict) else answer
        if not isinstance(data, dict):
            return {"response": data}
        keys = {f.key for f in fields}
        return {k: v for k, v in data.items() if k in keys} or data


def create_ask_user_tool(id: str = "ask_user", description: str | None = None, timeout: float | None = None) -> Tool:
    """A tool the model calls to ask the user something; it suspends until the user answers.

    Args:
        id: the tool's name.
        description: overrides the default description given to the model.
        timeout: seconds to wait for the answer before the call fails.
    """
    return AskUserTool(id=id, description=description, timeout=timeout)


__all__ = ["AskUserField", "AskUserFieldOption", "AskUserInput", "AskUserTool", "create_ask_user_tool"]
