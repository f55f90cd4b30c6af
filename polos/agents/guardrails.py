"""Running an agent's guardrails on one reply.

Each guardrail is its own step, keyed by agent step, attempt and position
(``guardrail_{n}_{attempt}_{g}``), so retries and several string guardrails never share a key.
A string guardrail is a rule checked by the agent's own model (``guardrail_{n}_{attempt}_{g}_llm``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..llm.types import LLMRequest, LLMResponse, Message
from .hooks import GuardrailContext, GuardrailResult, HookAction, coerce_result

if TYPE_CHECKING:
    from .loop import AgentRun

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"passed": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["passed", "reason"],
    "additionalProperties": False,
}

CHECKER_SYSTEM = (
    "You check an AI assistant's reply against a rule. Answer with a JSON object "
    '{"passed": true|false, "reason": "..."}; the reason says what to change when the rule is broken.'
)


async def run_guardrails(run: AgentRun, number: int, attempt: int, response: LLMResponse) -> GuardrailResult:
    """The combined verdict of the agent's guardrails on ``response`` (the first failure wins)."""
    from .loop import _apply_guardrail, _tool_call

    agent = run.agent
    ctx = run.ctx
    modified_content: Any = None
    modified_calls: Any = None
    current = response
    for index, rule in enumerate(agent.guardrails):
        key = f"guardrail_{number}_{attempt}_{index}"
        if isinstance(rule, str):
            verdict = await _check_rule(run, key, rule, current)
        else:
            context = GuardrailContext(
                content=current.text or None,
                tool_calls=[_tool_call(c) for c in current.tool_calls],
                agent_workflow_id=agent.id,
                agent_run_id=ctx.execution_id,
                session_id=run.session_id,
                user_id=run.user_id,
                llm_config=agent.agent_config(),
                steps=list(run.steps),
            )
            value = await ctx.step.run(key, rule, ctx, context, max_retries=0)
            verdict = coerce_result(value, GuardrailResult, f"guardrail {getattr(rule, '__name__', index)!r}")  # type: ignore[assignment]
            assert isinstance(verdict, GuardrailResult)
        if verdict.action == HookAction.FAIL:
            return verdict
        if verdict.modified_content is not None:
            modified_content = verdict.modified_content
        if verdict.modified_tool_calls is not None:
            modified_calls = verdict.modified_tool_calls
        current = _apply_guardrail(current, verdict)
    return GuardrailResult.continue_with(modified_content=modified_content, modified_tool_calls=modified_calls)


async def _check_rule(run: AgentRun, key: str, rule: str, response: LLMResponse) -> GuardrailResult:
    content = response.text
    if response.tool_calls:
        calls = [{"tool": c.name, "input": c.input} for c in response.tool_calls]
        content = f"{content}\n\nTool calls: {json.dumps(calls)}".strip()
    if not content:
        return GuardrailResult.continue_with()
    prompt = f"Rule:\n{rule}\n\nReply to check:\n{content}\n\nDoes the reply follow the rule?"
    request = LLMRequest(
        model=run.agent.model,
        messages=[Message.user(prompt)],
        system=CHECKER_SYSTEM,
        output_schema=VERDICT_SCHEMA,
        output_schema_name="GuardrailVerdict",
        cache=False,
        metadata={"agent_id": run.agent.id, "execution_id": run.ctx.execution_id, "purpose": "guardrail"},
    )
    reply = await run.llm.generate(f"{key}_llm", request)
    run._count(reply)
    return parse_verdict(reply.text)


def parse_verdict(text: str) -> GuardrailResult:
    """A checker reply (``{"passed", "reason"}``) as a guardrail result; anything else fails."""
    from .loop import _json_text

    try:
        data = json.loads(_json_text(text))
    except ValueError:
        return GuardrailResult.fail(f"the guardrail check did not answer with JSON: {text[:200]!r}")
    if not isinstance(data, dict):
        return GuardrailResult.fail("the guardrail check did not answer with a JSON object")
    if data.get("passed") is True:
        return GuardrailResult.continue_with()
    return GuardrailResult.fail(str(data.get("reason") or "the reply breaks a guardrail rule"))
