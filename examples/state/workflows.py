"""Durable state: ``ctx.state`` survives replays, waits and resumes.

Declare a :class:`polos.WorkflowState` subclass as ``state_schema``; ``ctx.state`` is an instance of
it (validated on every assignment).  Pass ``initial_state`` when invoking to start from something
other than the defaults.  The latest state is stored with the execution whenever it waits or
finishes, so ``client.get_execution(id)["state"]`` shows the progress of a paused run.
"""

from __future__ import annotations

from polos import WorkflowContext, WorkflowState, workflow

CATALOG = {
    "batch-1": ["ada", "grace", "linus"],
    "batch-2": ["margaret", "", "barbara"],  # one bad row
    "batch-3": ["ken", "dennis"],
}


class ImportProgress(WorkflowState):
    source: str = "unknown"
    batches_done: int = 0
    imported: int = 0
    skipped: list[str] = []


def import_batch(name: str) -> dict:
    """Pretend to write rows somewhere; returns what was imported and what was skipped."""
    rows = CATALOG[name]
    return {"imported": sum(1 for r in rows if r), "skipped": [f"{name}:{i}" for i, r in enumerate(rows) if not r]}


@workflow(id="state_import", state_schema=ImportProgress)
async def import_contacts(ctx: WorkflowContext, payload: dict) -> dict:
    """Import batches; pause for an operator after ``pause_after`` batches, then finish."""
    for index, name in enumerate(payload["batches"]):
        counts = await ctx.step.run(f"import-{name}", import_batch, name)
        # Workflow code updates the state from recorded step results: on a replay the same code
        # runs with the same results, so the state comes out the same.
        ctx.state.batches_done += 1
        ctx.state.imported += counts["imported"]
        ctx.state.skipped = [*ctx.state.skipped, *counts["skipped"]]
        if index + 1 == payload.get("pause_after"):
            form = {
                "title": "Import paused",
                "description": "Check the rows imported so far, then continue or stop.",
                "fields": [{"key": "continue", "type": "boolean", "label": "Continue", "required": True}],
                "context": ctx.state.model_dump(),
            }
            answer = (await ctx.step.suspend("checkpoint", {"_form": form}))["data"]
            if not answer.get("continue"):
                return {"status": "stopped", **ctx.state.model_dump()}
    return {"status": "done", **ctx.state.model_dump()}
