"""``ctx.state``: a durable ``WorkflowState`` across replays and resumes."""

from __future__ import annotations

import pytest

from polos import PayloadValidationError, WorkflowState, workflow
from polos.testing import LocalRuntime

from .helpers import execution, resume, status


class Cart(WorkflowState):
    items: list[str] = []
    count: int = 0
    note: str = ""


async def test_initial_state_reaches_the_workflow(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_initial", state_schema=Cart)
    async def wf(ctx):
        assert isinstance(ctx.state, Cart)
        return [ctx.state.items, ctx.state.count]

    assert await wf.run(runtime.client, initial_state={"items": ["a"], "count": 1}, timeout=5) == [["a"], 1]
    assert await wf.run(runtime.client, initial_state=Cart(count=5), timeout=5) == [[], 5]
    assert await wf.run(runtime.client, timeout=5) == [[], 0]


async def test_invalid_initial_state_is_refused(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_bad_initial", state_schema=Cart)
    async def wf(ctx):
        return "ran"

    with pytest.raises(PayloadValidationError, match="initial_state"):
        await wf.invoke(runtime.client, initial_state={"count": "lots"})
    await runtime.run_until_idle()
    assert runtime.outcomes == []


async def test_mutations_survive_suspend_and_resume(runtime: LocalRuntime) -> None:
    step_calls: list[int] = []

    def add_item(state: Cart, item: str) -> str:
        step_calls.append(1)
        state.items = [*state.items, item]  # a mutation made inside a step function
        return item

    @workflow(id="sdk_state_durable", state_schema=Cart)
    async def wf(ctx):
        ctx.state.count += 1  # a mutation made by workflow code, before the first step
        await ctx.step.run("add", add_item, ctx.state, "apple")
        ctx.state.note = "before pause"
        await ctx.step.suspend("pause")
        ctx.state.count += 10
        await ctx.step.run("add2", add_item, ctx.state, "pear")
        return ctx.state.model_dump()

    handle = await wf.invoke(runtime.client, initial_state={"count": 100})
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    waiting = await execution(runtime, handle)
    assert waiting["state"] == {"items": ["apple"], "count": 101, "note": "before pause"}

    await resume(runtime, handle, "pause")
    result = await runtime.client.wait_for_result(handle.id)
    assert result == {"items": ["apple", "pear"], "count": 111, "note": "before pause"}
    assert len(step_calls) == 2  # the step that mutated the state was not re-run on replay
    final = await execution(runtime, handle)
    assert final["state"] == result


async def test_state_mutated_only_inside_a_step_is_restored_on_replay(runtime: LocalRuntime) -> None:
    seen: list[int] = []

    async def bump(ctx) -> None:
        ctx.state.count += 1

    @workflow(id="sdk_state_in_step", state_schema=Cart)
    async def wf(ctx):
        await ctx.step.run("bump", bump, ctx)
        seen.append(ctx.state.count)
        await ctx.step.suspend("pause")
        seen.append(ctx.state.count)
        return ctx.state.count

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    assert await runtime.client.wait_for_result(handle.id) == 1
    assert seen == [1, 1, 1]  # first run, then the replay (restored, not re-incremented)


async def test_state_is_validated_on_assignment(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_validate", state_schema=Cart)
    async def wf(ctx):
        ctx.state.count = "not a number"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "count" in info["error"]


async def test_final_state_is_stored_when_the_workflow_fails(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_on_failure", state_schema=Cart)
    async def wf(ctx):
        ctx.state.note = "got this far"
        raise ValueError("then broke")

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["state"]["note"] == "got this far"


async def test_workflow_without_state_schema_has_no_state(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_none")
    async def wf(ctx):
        return ctx.state is None

    handle = await wf.invoke(runtime.client)
    assert await runtime.client.wait_for_result(handle.id, timeout=5) is True
    assert (await execution(runtime, handle))["state"] is None


class Renamed(WorkflowState):
    total: int = 0


async def test_invalid_child_initial_state_fails_the_parent_step_not_the_worker(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_child", state_schema=Cart)
    async def child(ctx):
        return ctx.state.count

    @workflow(id="sdk_state_child_parent")
    async def parent(ctx):
        return await ctx.step.invoke_and_wait("child", child, initial_state={"count": "lots"})

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "PayloadValidationError"
    assert "'count'" in info["error"]
    assert [eid for eid, _ in runtime.outcomes] == [handle.id]  # no child was created


async def test_child_initial_state_reaches_the_child(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_child_ok", state_schema=Cart)
    async def child(ctx):
        return ctx.state.count

    @workflow(id="sdk_state_child_ok_parent")
    async def parent(ctx):
        return await ctx.step.invoke_and_wait("child", child, initial_state=Cart(count=3))

    assert await parent.run(runtime.client, timeout=5) == 3


async def test_stored_state_that_no_longer_fits_the_schema_fails_the_execution(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_state_schema_changed", state_schema=Cart)
    async def wf(ctx):
        return "ran"

    handle = await wf.invoke(runtime.client, initial_state={"count": 2})
    wf.state_schema = Renamed  # a deploy changed the schema before a worker picked the execution up
    await runtime.run_until_idle()  # must not blow up the worker
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "count" in info["error"]
