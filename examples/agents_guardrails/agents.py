"""Guardrails: a function that redacts e-mail addresses and a plain-language rule the model checks."""

from __future__ import annotations

import re

from polos import Agent, GuardrailContext, GuardrailResult, WorkflowContext, guardrail

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@guardrail
def redact_emails(ctx: WorkflowContext, guardrail_context: GuardrailContext) -> GuardrailResult:
    """Never show e-mail addresses: replace them (the reply is changed, not rejected)."""
    text = guardrail_context.content or ""
    if EMAIL.search(text):
        return GuardrailResult.continue_with(modified_content=EMAIL.sub("[email hidden]", text))
    return GuardrailResult.continue_with()


@guardrail
def no_promises(ctx: WorkflowContext, guardrail_context: GuardrailContext) -> GuardrailResult:
    """Reject replies that promise refunds: the model must try again."""
    if "guarantee" in (guardrail_context.content or "").lower():
        return GuardrailResult.fail("Do not guarantee refunds; say a person will review the request.")
    return GuardrailResult.continue_with()


support_agent = Agent(
    id="agents_guardrails_support",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a support agent for an online shop.",
    guardrails=[no_promises, redact_emails, "The reply must be polite."],
    guardrail_max_retries=2,
)
