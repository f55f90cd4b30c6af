"""Child workflows: invoke, invoke_and_wait, batch fan-out and fan-in."""

from __future__ import annotations

from pydantic import BaseModel

from polos import BatchWorkflowInput, ExecutionHandle, StepExecutionError, workflow
from polos.testing import LocalRuntime

from .helpers import execution, resume, status


class Quote(BaseModel):
    sku: str
    qty: int


class Price(BaseModel):
    sku: str
    total: float


async def test_invoke_and_wait_returns_the_child_result_as_a_model(runtime: LocalRuntime) -> None:
    child_runs: list[Quote] = []
    seen: list[object] = []

    @workflow(id="sdk_child_price")
    async def price(ctx, payload: Quote) -> Price:
        child_runs.append(payload)
        return Price(sku=payload.sku, total=payload.qty * 2.5)

    @workflow(id="sdk_child_parent")
    async def parent(ctx):
        result = await ctx.step.invoke_and_wait("price", price, Quote(sku="A1", qty=4))
        seen.append(result)
        await ctx.step.suspend("pause")
        return result.total

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    await resume(runtime, handle, "pause")
    assert await runtime.client.wait_for_result(handle.id) == 10.0
    assert len(child_runs) == 1  # the child ran once, the replay read its recorded result
    assert seen == [Price(sku="A1", total=10.0)] * 2
    assert all(isinstance(x, Price) for x in seen)


async def test_invoke_and_wait_by_workflow_id(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_echo")
    async def echo(ctx, payload):
        return {"echo": payload, "parent": ctx.parent_execution_id, "root": ctx.root_execution_id}

    @workflow(id="sdk_child_by_id")
    async def parent(ctx):
        result = await ctx.step.invoke_and_wait("echo", "sdk_child_echo", {"x": 1})
        return {**result, "me": ctx.execution_id}

    result = await parent.run(runtime.client, timeout=5)
    assert result["echo"] == {"x": 1}
    assert result["parent"] == result["me"]
    assert result["root"] == result["me"]


async def test_failing_child_raises_step_execution_error_in_the_parent(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_fails")
    async def fails(ctx):
        raise ValueError("out of stock")

    @workflow(id="sdk_child_fails_parent")
    async def parent(ctx):
        try:
            await ctx.step.invoke_and_wait("stock", fails)
        except StepExecutionError as exc:
            return {"key": exc.step_key, "message": str(exc)}
        return "no error"

    result = await parent.run(runtime.client, timeout=5)
    assert result["key"] == "stock"
    assert "out of stock" in result["message"]
    assert "sdk_child_fails" in result["message"]


async def test_invalid_child_payload_fails_the_parent_with_the_field(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_typed")
    async def typed(ctx, payload: Quote):
        return payload.qty

    @workflow(id="sdk_child_typed_parent")
    async def parent(ctx):
        await ctx.step.invoke_and_wait("q", typed, {"sku": "A", "qty": "many"})

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "PayloadValidationError"
    assert "'qty'" in info["error"]


async def test_invoke_returns_a_handle_without_waiting(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_background")
    async def background(ctx, payload):
        await ctx.step.suspend("hold")
        return payload["n"]

    handles: list[ExecutionHandle] = []

    @workflow(id="sdk_child_fire")
    async def parent(ctx):
        handle = await ctx.step.invoke("bg", background, {"n": 7})
        handles.append(handle)
        await ctx.step.suspend("pause")
        return handle.id

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    [child_handle] = handles
    assert isinstance(child_handle, ExecutionHandle)
    assert child_handle.workflow_id == "sdk_child_background"
    assert child_handle.parent_execution_id == handle.id
    assert child_handle.root_execution_id == handle.id
    assert child_handle.step_key == "bg"
    assert await status(runtime, child_handle) == "waiting"

    await resume(runtime, handle, "pause")
    assert await runtime.client.wait_for_result(handle.id) == child_handle.id  # the same child on replay
    assert handles[1] == child_handle
    child = await execution(runtime, child_handle)
    assert child["parent_execution_id"] == handle.id

    await runtime.client.resume(handle.root_workflow_id, child_handle.id, "hold", None)
    assert await runtime.client.wait_for_result(child_handle.id, timeout=5) == 7


async def test_batch_invoke_and_wait_keeps_request_order_and_per_item_failures(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_square")
    async def square(ctx, payload):
        if payload["n"] == 2:
            raise ValueError("two is unlucky")
        await ctx.step.wait_for("jitter", seconds=0.01 * (5 - payload["n"]))  # later items finish first
        return payload["n"] ** 2

    @workflow(id="sdk_child_price_batch")
    async def price(ctx, payload: Quote) -> Price:
        return Price(sku=payload.sku, total=float(payload.qty))

    @workflow(id="sdk_child_fan")
    async def parent(ctx):
        items = [BatchWorkflowInput(id="sdk_child_square", payload={"n": n}) for n in range(5)]
        items.append({"id": "sdk_child_price_batch", "payload": {"sku": "Z", "qty": 3}})
        results = await ctx.step.batch_invoke_and_wait("fan", items)
        return [(r.workflow_id, r.success, r.result, r.error) for r in results], results[-1].result

    rows, price_result = await parent.run(runtime.client, timeout=5)
    assert [tuple(row[:3]) for row in rows] == [
        ("sdk_child_square", True, 0),
        ("sdk_child_square", True, 1),
        ("sdk_child_square", False, None),
        ("sdk_child_square", True, 9),
        ("sdk_child_square", True, 16),
        ("sdk_child_price_batch", True, Price(sku="Z", total=3.0)),
    ]
    assert "two is unlucky" in rows[2][3]
    assert all(row[3] is None for i, row in enumerate(rows) if i != 2)
    assert isinstance(price_result, Price)


async def test_empty_batch_returns_at_once(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_empty_batch")
    async def parent(ctx):
        return await ctx.step.batch_invoke_and_wait("none", [])

    assert await parent.run(runtime.client, timeout=5) == []


async def test_batch_invoke_returns_handles_in_order(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_tag")
    async def tag(ctx, payload):
        return f"tag-{payload}"

    @workflow(id="sdk_child_batch_fire")
    async def parent(ctx):
        handles = await ctx.step.batch_invoke("tags", [{"id": "sdk_child_tag", "payload": i} for i in range(3)])
        return [h.id for h in handles]

    ids = await parent.run(runtime.client, timeout=5)
    await runtime.run_until_idle()
    assert len(set(ids)) == 3
    results = [await runtime.client.wait_for_result(i, timeout=5) for i in ids]
    assert results == ["tag-0", "tag-1", "tag-2"]


async def test_children_inherit_session_and_user(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_who")
    async def who(ctx):
        return [ctx.session_id, ctx.user_id]

    @workflow(id="sdk_child_who_parent")
    async def parent(ctx):
        return await ctx.step.invoke_and_wait("who", who)

    result = await parent.run(runtime.client, session_id="s-1", user_id="u-1", timeout=5)
    assert result == ["s-1", "u-1"]


async def test_a_childs_suspend_is_resumed_through_the_root(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_asks")
    async def asks(ctx):
        answer = await ctx.step.suspend("confirm", {"question": "delete?"})
        return answer["data"]

    @workflow(id="sdk_child_asks_parent")
    async def parent(ctx):
        return await ctx.step.invoke_and_wait("ask", asks)

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    suspends = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "suspend_confirm"]
    assert [e.data["question"] for e in suspends] == ["delete?"]  # on the root's topic
    await resume(runtime, handle, "confirm", {"approved": True})  # root workflow id and root execution id
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == {"approved": True}


async def test_cancelling_a_child_fails_the_waiting_parent_step(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_child_cancelled")
    async def child(ctx):
        await ctx.step.suspend("hold")

    @workflow(id="sdk_child_cancelled_parent")
    async def parent(ctx):
        try:
            await ctx.step.invoke_and_wait("child", child)
        except StepExecutionError as exc:
            return str(exc)
        return "child finished"

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    [child_id] = [eid for eid, _ in runtime.outcomes if eid != handle.id]
    assert await runtime.client.cancel_execution(child_id) is True
    message = await runtime.client.wait_for_result(handle.id, timeout=5)
    assert "cancelled" in message
    assert await status(runtime, child_id) == "cancelled"
