"""The execution lifecycle: cancellation, run timeouts, execution-level retries, hooks, context."""

from __future__ import annotations

import asyncio

import pytest

from polos import ExecutionFailedError, RetryableError, workflow
from polos.exceptions import ExecutionNotFoundError
from polos.testing import LocalRuntime

from .helpers import event_types, execution, resume, status

# --- cancellation ------------------------------------------------------------------------------------


async def test_cancel_a_waiting_execution_and_its_waiting_children(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_cancel_child")
    async def child(ctx):
        await ctx.step.suspend("hold")

    @workflow(id="sdk_rt_cancel_parent")
    async def parent(ctx):
        await ctx.step.invoke_and_wait("child", child)
        return "finished"

    handle = await parent.invoke(runtime.client)
    await runtime.run_until_idle()
    [child_id] = [eid for eid, _ in runtime.outcomes if eid != handle.id]
    assert await status(runtime, handle) == "waiting"
    assert await status(runtime, child_id) == "waiting"

    assert await handle.cancel(runtime.client) is True
    assert await status(runtime, handle) == "cancelled"  # at once, no worker involved
    assert await status(runtime, child_id) == "cancelled"
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "cancelled"
    assert "workflow_cancel" in event_types(runtime, handle)
    with pytest.raises(ExecutionFailedError, match="cancelled"):
        await runtime.client.wait_for_result(handle.id, timeout=5)


async def test_cancel_a_finished_execution_returns_false(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_cancel_done")
    async def wf(ctx):
        return "done"

    handle = await wf.invoke(runtime.client)
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == "done"
    assert await runtime.client.cancel_execution(handle.id) is False
    assert await status(runtime, handle) == "completed"


async def test_cancel_an_unknown_execution(runtime: LocalRuntime) -> None:
    with pytest.raises(ExecutionNotFoundError):
        await runtime.client.cancel_execution("no-such-execution")


async def test_cancel_a_running_execution_stops_at_the_next_step(runtime: LocalRuntime) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    after: list[str] = []

    async def blocking() -> str:
        started.set()
        await release.wait()
        return "unblocked"

    def never() -> None:
        after.append("ran")

    @workflow(id="sdk_rt_cancel_running")
    async def wf(ctx):
        await ctx.step.run("block", blocking)
        await ctx.step.run("after", never)
        return "completed anyway"

    handle = await wf.invoke(runtime.client)
    await asyncio.wait_for(started.wait(), 5)
    assert await status(runtime, handle) == "running"
    assert await runtime.client.cancel_execution(handle.id) is True
    release.set()
    await runtime.run_until_idle()

    assert await status(runtime, handle) == "cancelled"
    assert after == []


# --- run timeout -------------------------------------------------------------------------------------


async def test_run_timeout_fails_a_workflow_that_runs_too_long(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_timeout")
    async def wf(ctx):
        await ctx.step.run("slow", asyncio.sleep, 30)
        return "finished"

    handle = await wf.invoke(runtime.client, run_timeout_seconds=0.3)
    await asyncio.wait_for(runtime.run_until_idle(), 10)
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "WorkflowTimeoutError"
    assert "run_timeout_seconds" in info["error"]


async def test_time_spent_suspended_does_not_count_against_run_timeout(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_timeout_suspended")
    async def wf(ctx):
        answer = await ctx.step.suspend("approve")
        await ctx.step.run("work", asyncio.sleep, 0.05)
        return answer["data"]

    handle = await wf.invoke(runtime.client, run_timeout_seconds=0.5)
    await runtime.run_until_idle()
    await asyncio.sleep(0.7)  # real time passes while a human thinks...
    await runtime.advance(days=3)  # ...and a lot of clock time
    assert await status(runtime, handle) == "waiting"
    await resume(runtime, handle, "approve", "ok")
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == "ok"


async def test_invalid_run_timeout_is_refused(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_timeout_bad")
    async def wf(ctx):
        return 1

    with pytest.raises(Exception, match="run_timeout_seconds"):
        await wf.invoke(runtime.client, run_timeout_seconds=-1)


# --- execution-level retries ------------------------------------------------------------------------


async def test_retryable_error_retries_the_execution_on_a_durable_timer(runtime: LocalRuntime) -> None:
    step_calls: list[int] = []
    retry_counts: list[int] = []

    def expensive() -> str:
        step_calls.append(1)
        return "computed"

    @workflow(id="sdk_rt_retryable")
    async def wf(ctx):
        retry_counts.append(ctx.retry_count)
        value = await ctx.step.run("expensive", expensive)
        if ctx.retry_count < 2:
            raise RetryableError("the API is busy")
        return value

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert retry_counts == [0]
    info = await execution(runtime, handle)
    assert info["status"] == "waiting"
    assert info["retry_count"] == 1

    await runtime.advance(seconds=1)  # first backoff is 2 s
    assert retry_counts == [0]
    await runtime.advance(seconds=1.5)
    assert retry_counts == [0, 1]
    await runtime.advance(seconds=4.5)  # second backoff is 4 s
    assert retry_counts == [0, 1, 2]
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == "computed"
    assert len(step_calls) == 1  # recorded steps are not re-run by a retry


async def test_retryable_error_gives_up_after_the_retry_budget(runtime: LocalRuntime) -> None:
    runs: list[int] = []

    @workflow(id="sdk_rt_retry_budget")
    async def wf(ctx):
        runs.append(ctx.retry_count)
        raise RetryableError("still busy")

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    for _ in range(5):
        await runtime.advance(seconds=301)
    assert runs == [0, 1, 2, 3]  # execution_max_retries = 3
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "RetryableError"
    assert info["error"] == "still busy"


async def test_ordinary_errors_are_not_retried(runtime: LocalRuntime) -> None:
    runs: list[int] = []

    @workflow(id="sdk_rt_no_retry")
    async def wf(ctx):
        runs.append(1)
        raise ValueError("bug")

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.advance(hours=1)
    assert runs == [1]
    assert await status(runtime, handle) == "failed"


# --- hooks and context --------------------------------------------------------------------------------


async def test_on_start_and_on_end_hooks_run_once(runtime: LocalRuntime) -> None:
    calls: list[tuple[str, object]] = []

    def on_start(ctx, payload) -> None:
        calls.append(("start", payload))

    async def on_end(ctx, result) -> None:
        calls.append(("end", result))

    @workflow(id="sdk_rt_hooks", on_start=on_start, on_end=[on_end])
    async def wf(ctx, payload):
        calls.append(("body", None))
        await ctx.step.suspend("pause")
        await ctx.step.wait_for("nap", days=1)
        return payload["x"] * 2

    handle = await wf.invoke(runtime.client, {"x": 21})
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    await runtime.advance(days=1, seconds=1)
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == 42
    assert calls.count(("start", {"x": 21})) == 1
    assert calls.count(("end", 42)) == 1
    assert calls.count(("body", None)) == 3  # the body replays, the hooks do not
    assert calls[0] == ("start", {"x": 21})
    assert calls[-1] == ("end", 42)


async def test_failing_on_start_hook_fails_the_execution(runtime: LocalRuntime) -> None:
    body: list[int] = []

    def on_start(ctx, payload) -> None:
        raise PermissionError("not allowed")

    @workflow(id="sdk_rt_hook_fails", on_start=on_start)
    async def wf(ctx):
        body.append(1)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "not allowed" in info["error"]
    assert body == []


async def test_context_describes_the_execution(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_ctx")
    async def wf(ctx):
        return {
            "workflow_id": ctx.workflow_id,
            "execution_id": ctx.execution_id,
            "parent": ctx.parent_execution_id,
            "root_execution_id": ctx.root_execution_id,
            "root_workflow_id": ctx.root_workflow_id,
            "retry_count": ctx.retry_count,
            "session_id": ctx.session_id,
            "user_id": ctx.user_id,
            "workflow_type": ctx.workflow_type,
            "has_created_at": ctx.created_at is not None,
        }

    handle = await wf.invoke(runtime.client, session_id="s", user_id="u")
    result = await runtime.client.wait_for_result(handle.id, timeout=5)
    assert result == {
        "workflow_id": "sdk_rt_ctx",
        "execution_id": handle.id,
        "parent": None,
        "root_execution_id": handle.id,
        "root_workflow_id": "sdk_rt_ctx",
        "retry_count": 0,
        "session_id": "s",
        "user_id": "u",
        "workflow_type": "workflow",
        "has_created_at": True,
    }


async def test_workflow_events_start_and_finish(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_events")
    async def wf(ctx):
        raise ValueError("nope")

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    events = runtime.store.list_events(handle.topic)
    assert [e.event_type for e in events] == ["workflow_start", "workflow_finish"]
    assert events[-1].data["status"] == "failed"
    assert events[-1].data["error"] == "nope"  # failures end the stream too


async def test_unregistered_workflow_fails_in_the_worker(runtime: LocalRuntime) -> None:
    from polos.workflow import unregister

    @workflow(id="sdk_rt_gone")
    async def wf(ctx):
        return 1

    handle = await wf.invoke(runtime.client)
    unregister("sdk_rt_gone")  # the worker does not know the workflow
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "WorkflowNotFoundError"


async def test_transient_infrastructure_errors_are_retried(runtime: LocalRuntime) -> None:
    runs: list[int] = []

    @workflow(id="sdk_rt_transient")
    async def wf(ctx):
        runs.append(ctx.retry_count)
        if ctx.retry_count == 0:
            raise ConnectionError("database went away")
        return "recovered"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(seconds=3)
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == "recovered"
    assert runs == [0, 1]


async def test_cancel_before_the_first_run(runtime: LocalRuntime) -> None:
    ran: list[int] = []

    @workflow(id="sdk_rt_cancel_queued")
    async def wf(ctx):
        ran.append(1)

    handle = await wf.invoke(runtime.client)
    assert await runtime.client.cancel_execution(handle.id) is True
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "cancelled"
    assert ran == []


async def test_cancel_while_running_before_any_step(runtime: LocalRuntime) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    steps: list[str] = []

    @workflow(id="sdk_rt_cancel_first_step")
    async def wf(ctx):
        started.set()
        await release.wait()  # plain workflow code, not a step
        await ctx.step.run("first", lambda: steps.append("first"))

    handle = await wf.invoke(runtime.client)
    await asyncio.wait_for(started.wait(), 5)
    assert await runtime.client.cancel_execution(handle.id) is True
    release.set()
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "cancelled"
    assert steps == []


async def test_run_time_adds_up_across_runs(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_rt_timeout_cumulative")
    async def wf(ctx):
        await ctx.step.run("first", asyncio.sleep, 0.3)
        await ctx.step.wait_for("nap", days=1)
        await ctx.step.run("second", asyncio.sleep, 0.3)
        return "finished"

    handle = await wf.invoke(runtime.client, run_timeout_seconds=0.5)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(days=1, seconds=1)
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "WorkflowTimeoutError"
