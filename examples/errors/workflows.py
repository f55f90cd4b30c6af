"""Error handling in workflows: retry, fallback, compensation (a saga), and failing for good.

A ``ctx.step.run`` that raises is retried ``max_retries`` times with exponential backoff.  When it
still fails, the failure is recorded and raised as :class:`polos.StepExecutionError` -- now, and
again on every replay -- so ``try/except StepExecutionError`` around a step is deterministic and a
workflow can recover.  A child workflow that fails raises ``StepExecutionError`` in the parent too.
An exception that escapes the workflow function fails the execution; the caller of ``run`` /
``wait_for_result`` gets :class:`polos.ExecutionFailedError`.
"""

from __future__ import annotations

from polos import StepExecutionError, WorkflowContext, workflow

FAST = {"base_delay": 0.05, "max_delay": 0.2}  # keep the example quick; the defaults are 1 s and 10 s


@workflow(id="errors_retry")
async def flaky_report(ctx: WorkflowContext, payload: dict) -> dict:
    """Retry: the upstream API times out ``failures`` times, then answers."""
    calls: list[int] = []

    def fetch_report() -> dict:
        calls.append(1)
        if len(calls) <= payload["failures"]:
            raise TimeoutError(f"upstream timed out (call {len(calls)})")
        return {"rows": 128, "calls": len(calls)}

    return await ctx.step.run("fetch-report", fetch_report, max_retries=3, **FAST)


def primary_rate(currency: str) -> float:
    raise ConnectionError("rates.example.com is unreachable")


def cached_rate(currency: str) -> float:
    return {"EUR": 1.08, "GBP": 1.27}[currency]


@workflow(id="errors_fallback")
async def convert(ctx: WorkflowContext, payload: dict) -> dict:
    """Fallback: when the primary source fails for good, use a cached rate instead."""
    try:
        rate = await ctx.step.run("primary-rate", primary_rate, payload["currency"], max_retries=1, **FAST)
        source = "primary"
    except StepExecutionError as exc:
        # exc.step_key is "primary-rate", exc.error_type is "ConnectionError".
        rate = await ctx.step.run("cached-rate", cached_rate, payload["currency"])
        source = f"cache (primary failed: {exc.error_type})"
    return {"amount": round(payload["amount"] * rate, 2), "rate": rate, "source": source}


@workflow(id="errors_charge")
async def charge_card(ctx: WorkflowContext, payload: dict) -> str:
    """A child workflow that fails when the card limit is exceeded."""
    if payload["amount"] > payload["limit"]:
        raise ValueError(f"card declined: {payload['amount']} is over the limit of {payload['limit']}")

    async def charge() -> str:
        return f"charged {payload['amount']}"

    return await ctx.step.run("charge", charge)


@workflow(id="errors_trip")
async def book_trip(ctx: WorkflowContext, payload: dict) -> dict:
    """Compensation (a saga): book flight and hotel, charge; if a step fails, undo what was done."""
    undo: list[tuple[str, str]] = []  # (step key, what to undo), rebuilt identically on every replay
    try:
        flight = await ctx.step.run("book-flight", lambda: f"flight to {payload['city']}")
        undo.append(("cancel-flight", flight))
        hotel = await ctx.step.run("book-hotel", lambda: f"hotel in {payload['city']}")
        undo.append(("cancel-hotel", hotel))
        payment = await ctx.step.invoke_and_wait(
            "charge", charge_card, {"amount": payload["amount"], "limit": payload["card_limit"]}
        )
    except StepExecutionError as exc:
        undone = []
        for key, booking in reversed(undo):
            undone.append(await ctx.step.run(key, lambda b=booking: f"cancelled {b}"))
        if payload.get("fail_after_compensation"):
            # Compensated, and still a failure: raising fails the execution for the caller.
            raise RuntimeError(f"trip not booked: {exc}") from exc
        return {"status": "rolled_back", "reason": str(exc), "undone": undone}
    return {"status": "booked", "bookings": [flight, hotel], "payment": payment}
