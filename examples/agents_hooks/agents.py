"""Lifecycle hooks: audit every step and tool call, normalize tool input, post-process the answer."""

from __future__ import annotations

from pydantic import BaseModel

from polos import Agent, HookContext, HookResult, WorkflowContext, hook, tool


class Query(BaseModel):
    sku: str


@tool(id="agents_hooks_stock", description="Units in stock for a product SKU")
def stock(ctx: WorkflowContext, input: Query) -> dict:
    return {"sku": input.sku, "units": {"A-100": 12, "B-200": 0}.get(input.sku, 0)}


@hook
def audit_start(ctx: WorkflowContext, hook_context: HookContext) -> HookResult:
    print(f"[audit] run {ctx.execution_id} started by user {hook_context.user_id}")
    return HookResult.continue_with()


@hook
def upper_sku(ctx: WorkflowContext, hook_context: HookContext) -> HookResult:
    """Tool input is normalized before the tool runs."""
    sku = str((hook_context.current_payload or {}).get("sku", ""))
    return HookResult.continue_with(modified_payload={"sku": sku.upper()})


@hook
def audit_tool(ctx: WorkflowContext, hook_context: HookContext) -> HookResult:
    print(f"[audit] {hook_context.current_tool} -> {hook_context.current_output}")
    return HookResult.continue_with()


@hook
def sign(ctx: WorkflowContext, hook_context: HookContext) -> HookResult:
    """The final answer gets a signature."""
    answer = hook_context.current_output.result
    return HookResult.continue_with(modified_output=f"{answer} (Stock bot)")


inventory_agent = Agent(
    id="agents_hooks_inventory",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You answer stock questions with the stock tool.",
    tools=[stock],
    on_start=audit_start,
    on_tool_start=upper_sku,
    on_tool_end=audit_tool,
    on_end=sign,
)
