"""Workflow basics: durable steps, step retries, child workflows, deterministic uuid/random/now.

Every ``ctx.step`` call takes a key.  The first time a key runs, its result is recorded; when the
workflow function runs again (a replay: after waiting for a child, a crash, a retry), the recorded
result is returned instead of doing the work again.  So anything that must not change between
runs -- ids, timestamps, random draws, calls to other systems -- goes through a step.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from polos import WorkflowContext, workflow

PRICES = {"book": 12.5, "lamp": 30.0, "pen": 2.0}


class OrderIn(BaseModel):
    """The payload of ``basics_order`` (validated when the workflow is invoked)."""

    customer: str
    items: list[str]


class Receipt(BaseModel):
    """The result of ``basics_order``; pydantic results come back as the same class."""

    order_id: str
    customer: str
    total: float
    discount: float
    created_at: str
    reservation: str
    reservation_attempts: int
    confirmed_order_id: str
    notification_id: str


def lookup_price(item: str) -> float:
    """A plain function: ``ctx.step.run`` runs sync functions in a thread."""
    return PRICES[item]


@workflow(id="basics_confirm")
async def confirm_order(ctx: WorkflowContext, payload: dict) -> dict:
    """A child workflow: it sees the order id the parent drew in its first run."""
    total = 0.0
    for index, item in enumerate(payload["items"]):
        total += await ctx.step.run(f"price-{index}", lookup_price, item)
    return {"order_id": payload["order_id"], "total": total}


@workflow(id="basics_notify")
async def notify_customer(ctx: WorkflowContext, payload: dict) -> str:
    """A fire-and-forget child: the parent starts it and does not wait."""

    async def send() -> str:
        return f"sent 'order {payload['order_id'][:8]} confirmed' to {payload['customer']}"

    return await ctx.step.run("send-email", send)


@workflow(id="basics_order")
async def place_order(ctx: WorkflowContext, order: OrderIn) -> Receipt:
    """Place an order: draw an id, reserve stock (flaky), price it in a child, notify the customer."""
    # Deterministic values: drawn once, the same on every replay of this execution.
    order_id = await ctx.step.uuid("order-id")
    created_ms = await ctx.step.now("created-at")
    roll = await ctx.step.random("discount-roll")
    discount = 0.1 if roll < 0.5 else 0.0

    # A step that fails twice before it succeeds: retried with exponential backoff
    # (base_delay, 2 * base_delay, ... up to max_delay).  Only the successful result is recorded.
    attempts: list[int] = []

    def reserve_stock() -> dict:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise ConnectionError("inventory service busy")
        return {"reservation": f"R-{order_id[:8]}", "attempts": len(attempts)}

    reserved = await ctx.step.run("reserve-stock", reserve_stock, max_retries=4, base_delay=0.05, max_delay=0.2)

    # A short durable sleep (short waits sleep in the worker; long ones free it).
    await ctx.step.wait_for("settle", seconds=0.05)

    # A child workflow, awaited: the parent waits without holding a worker, then replays from the
    # top.  The uuid/now/random steps above return their recorded values in that replay, so the
    # order id the child received is the one this run returns.
    priced = await ctx.step.invoke_and_wait("confirm", confirm_order, {"order_id": order_id, "items": order.items})

    # A child workflow started without waiting: we get its handle at once.
    notification = await ctx.step.invoke("notify", notify_customer, {"order_id": order_id, "customer": order.customer})

    return Receipt(
        order_id=order_id,
        customer=order.customer,
        total=round(priced["total"] * (1 - discount), 2),
        discount=discount,
        created_at=dt.datetime.fromtimestamp(created_ms / 1000, dt.UTC).isoformat(),
        reservation=reserved["reservation"],
        reservation_attempts=reserved["attempts"],
        confirmed_order_id=priced["order_id"],
        notification_id=notification.id,
    )
