"""Human-in-the-loop workflows built on ``ctx.step.suspend``.

``suspend(key, data)`` publishes a ``suspend_{key}`` event (``data`` plus ``_approval_url``) and
parks the execution without holding a worker.  ``client.resume(root_workflow_id, root_execution_id,
key, answer)`` wakes it; ``suspend`` then returns the resume event, whose ``["data"]`` is the answer.

The suspend data follows the ``_form`` convention, so the approval page (or any UI) can render it:
``{"_form": {"title", "description", "fields": [...], "context": {...}}}``.
"""

from __future__ import annotations

from pydantic import BaseModel

from polos import BatchWorkflowInput, WorkflowContext, workflow

DAY = 24 * 3600


class Expense(BaseModel):
    employee: str
    amount: float
    description: str


@workflow(id="approvals_expense")
async def expense_approval(ctx: WorkflowContext, expense: Expense) -> dict:
    """Small expenses are approved at once; larger ones wait for a manager's decision."""
    if expense.amount <= 100:
        decision = {"approved": True, "comment": "auto-approved (<= 100)"}
    else:
        form = {
            "title": f"Expense of {expense.amount:.2f} by {expense.employee}",
            "description": "Approve or reject this expense claim.",
            "fields": [
                {"key": "approved", "type": "boolean", "label": "Approve", "required": True, "default": False},
                {"key": "comment", "type": "textarea", "label": "Comment", "required": False},
            ],
            "context": expense.model_dump(),
        }
        # The timeout is enforced: nobody answering within 3 days fails this step (StepTimeoutError).
        resumed = await ctx.step.suspend("manager-approval", {"_form": form}, timeout=3 * DAY)
        decision = resumed["data"]

    async def pay() -> str:
        return f"paid {expense.amount:.2f} to {expense.employee}"

    payment = await ctx.step.run("pay", pay) if decision.get("approved") else None
    return {"approved": bool(decision.get("approved")), "comment": decision.get("comment"), "payment": payment}


@workflow(id="approvals_onboarding")
async def onboarding(ctx: WorkflowContext, payload: dict) -> dict:
    """A multi-step form: profile (asked again until valid), plan, confirmation."""
    profile: dict = {}
    error = None
    for attempt in range(5):
        # Each round needs its own key: a key names one recorded step.
        key = "profile" if attempt == 0 else f"profile-{attempt}"
        form = {
            "title": "Your profile",
            "description": error or "Step 1 of 3",
            "fields": [
                {"key": "name", "type": "text", "label": "Name", "required": True, "default": profile.get("name")},
                {"key": "email", "type": "text", "label": "Email", "required": True},
            ],
        }
        profile = (await ctx.step.suspend(key, {"_form": form}))["data"]
        if "@" in profile.get("email", ""):
            break
        error = f"{profile.get('email')!r} is not an email address; step 1 of 3"
    else:
        return {"status": "abandoned", "reason": "no valid email after 5 tries"}

    plan_form = {
        "title": "Choose a plan",
        "description": "Step 2 of 3",
        "fields": [
            {
                "key": "plan",
                "type": "select",
                "label": "Plan",
                "required": True,
                "default": "free",
                "options": [{"label": "Free", "value": "free"}, {"label": "Team", "value": "team"}],
            },
            {"key": "seats", "type": "number", "label": "Seats", "required": False, "default": 1},
        ],
        "context": {"name": profile["name"]},
    }
    plan = (await ctx.step.suspend("plan", {"_form": plan_form}))["data"]

    summary = {"name": profile["name"], "email": profile["email"], "plan": plan["plan"], "seats": plan.get("seats", 1)}
    confirm_form = {
        "title": "Confirm",
        "description": "Step 3 of 3",
        "fields": [{"key": "confirmed", "type": "boolean", "label": "Create my account", "required": True}],
        "context": summary,
    }
    confirmed = (await ctx.step.suspend("confirm", {"_form": confirm_form}))["data"]
    if not confirmed.get("confirmed"):
        return {"status": "cancelled", **summary}

    async def create_account() -> str:
        return f"acct-{summary['email'].split('@')[0]}"

    account = await ctx.step.run("create-account", create_account)
    return {"status": "created", "account": account, "profile_rounds": attempt + 1, **summary}


@workflow(id="approvals_review")
async def review(ctx: WorkflowContext, payload: dict) -> dict:
    """One reviewer's decision (a child of ``approvals_document``)."""
    reviewer = payload["reviewer"]
    form = {
        "title": f"Review {payload['document']}",
        "fields": [
            {"key": "approved", "type": "boolean", "label": "Approve", "required": True},
            {"key": "comment", "type": "textarea", "label": "Comment", "required": False},
        ],
        "context": {"document": payload["document"], "reviewer": reviewer},
    }
    # The key names the reviewer, so each suspend in the execution tree is resumable on its own.
    answer = (await ctx.step.suspend(f"review-{reviewer}", {"_form": form}))["data"]
    return {"reviewer": reviewer, "approved": bool(answer.get("approved")), "comment": answer.get("comment")}


@workflow(id="approvals_document")
async def document_review(ctx: WorkflowContext, payload: dict) -> dict:
    """Ask every reviewer in parallel; the document passes with ``quorum`` approvals."""
    reviews = await ctx.step.batch_invoke_and_wait(
        "reviews",
        [
            BatchWorkflowInput(id="approvals_review", payload={"document": payload["document"], "reviewer": r})
            for r in payload["reviewers"]
        ],
    )
    votes = {r.result["reviewer"]: r.result for r in reviews if r.success}
    approvals = sum(1 for v in votes.values() if v["approved"])
    return {
        "document": payload["document"],
        "approved": approvals >= payload["quorum"],
        "approvals": approvals,
        "comments": {name: v["comment"] for name, v in votes.items() if v["comment"]},
    }
