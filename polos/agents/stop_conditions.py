"""Stop conditions: when an agent stops calling the model.

A stop condition is ``(ctx: StopConditionContext) -> bool`` (sync or async), checked after each
agent step that ran tools.  ``@stop_condition`` functions with a second, config parameter are
configured by calling them: ``max_steps(MaxStepsConfig(count=5))`` or ``max_steps(count=5)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, Field

from ..exceptions import WorkflowDefinitionError
from ..types import Step


class StopConditionContext(BaseModel):
    """What a stop condition sees: the agent steps so far."""

    steps: list[Step] = Field(default_factory=list)
    agent_id: str | None = None
    agent_run_id: str | None = None


def stop_condition(fn: Callable[..., Any]) -> Any:
    """Declare a stop condition ``(ctx: StopConditionContext[, config: SomeModel]) -> bool``.

    Without a config parameter the function is the condition.  With one, calling the decorated
    function with the config (a model instance, a dict or keyword arguments) returns the condition.
    """
    params = [
        p for p in inspect.signature(fn).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not params or len(params) > 2:
        raise WorkflowDefinitionError(
            f"stop condition {fn.__name__!r} must take (ctx: StopConditionContext) or (ctx, config: SomeModel)"
        )
    if len(params) == 1:
        fn.__polos_stop_condition__ = fn.__name__  # type: ignore[attr-defined]
        return fn
    try:
        config_class = get_type_hints(fn).get(params[1].name)
    except Exception:
        config_class = None
    if not (isinstance(config_class, type) and issubclass(config_class, BaseModel)):
        raise WorkflowDefinitionError(
            f"stop condition {fn.__name__!r}: annotate its second parameter with a pydantic model (its config)"
        )

    @functools.wraps(fn)
    def configure(*args: Any, **kwargs: Any) -> Callable[[StopConditionContext], Any]:
        if len(args) == 1 and not kwargs and isinstance(args[0], config_class):
            config = args[0]
        elif len(args) == 1 and not kwargs and isinstance(args[0], dict):
            config = config_class.model_validate(args[0])
        elif not args:
            config = config_class(**kwargs)
        else:
            raise WorkflowDefinitionError(
                f"stop condition {fn.__name__!r} takes a {config_class.__name__}, a dict or keyword arguments"
            )

        if inspect.iscoroutinefunction(fn):

            async def condition(ctx: StopConditionContext) -> bool:
                return bool(await fn(ctx, config))

        else:

            def condition(ctx: StopConditionContext) -> bool:  # type: ignore[misc]
                return bool(fn(ctx, config))

        condition.__name__ = fn.__name__
        condition.__polos_stop_condition__ = fn.__name__  # type: ignore[attr-defined]
        condition.__polos_stop_config__ = config  # type: ignore[attr-defined]
        condition.__polos_builtin__ = getattr(fn, "__polos_builtin__", False)  # type: ignore[attr-defined]
        return condition

    configure.__polos_stop_factory__ = fn  # type: ignore[attr-defined]
    return configure


def _builtin(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__polos_builtin__ = True  # type: ignore[attr-defined]
    return fn


class MaxTokensConfig(BaseModel):
    """Stop once the run used ``limit`` tokens (input plus output, cached included)."""

    limit: int = Field(ge=1)


class MaxStepsConfig(BaseModel):
    """Stop after ``count`` agent steps (LLM calls)."""

    count: int = Field(default=5, ge=1)


class ExecutedToolConfig(BaseModel):
    """Stop once every tool named in ``tool_names`` has been called."""

    tool_names: list[str]


class HasTextConfig(BaseModel):
    """Stop once every string of ``texts`` appeared in the model's replies."""

    texts: list[str]


@stop_condition
@_builtin
def max_tokens(ctx: StopConditionContext, config: MaxTokensConfig) -> bool:
    """Stop when the run's total tokens reach ``config.limit``."""
    return sum(s.usage.total_tokens for s in ctx.steps if s.usage) >= config.limit


@stop_condition
@_builtin
def max_steps(ctx: StopConditionContext, config: MaxStepsConfig) -> bool:
    """Stop when the run made ``config.count`` steps."""
    return len(ctx.steps) >= config.count


@stop_condition
@_builtin
def executed_tool(ctx: StopConditionContext, config: ExecutedToolConfig) -> bool:
    """Stop when all of ``config.tool_names`` were called."""
    wanted = set(config.tool_names)
    called = {call.function.name for step in ctx.steps for call in step.tool_calls}
    return bool(wanted) and wanted <= called


@stop_condition
@_builtin
def has_text(ctx: StopConditionContext, config: HasTextConfig) -> bool:
    """Stop when all of ``config.texts`` occur in the replies so far."""
    text = " ".join(str(step.content) for step in ctx.steps if step.content)
    return bool(config.texts) and all(t in text for t in config.texts)


def is_builtin(condition: Callable[..., Any]) -> bool:
    """Whether a condition is one of the built-ins (pure: checked without a step)."""
    return bool(getattr(condition, "__polos_builtin__", False))


def max_steps_limit(conditions: list[Callable[..., Any]]) -> int | None:
    """The ``count`` of a ``max_steps`` condition among ``conditions``, if any."""
    for condition in conditions:
        config = getattr(condition, "__polos_stop_config__", None)
        if isinstance(config, MaxStepsConfig):
            return config.count
    return None


__all__ = [
    "ExecutedToolConfig",
    "HasTextConfig",
    "MaxStepsConfig",
    "MaxTokensConfig",
    "StopConditionContext",
    "executed_tool",
    "has_text",
    "max_steps",
    "max_tokens",
    "stop_condition",
]
