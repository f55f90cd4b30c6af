"""``ctx.step.run`` and the deterministic values: replay, retries, failures, non-determinism."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from polos import NonDeterminismError, StepExecutionError, workflow
from polos.testing import LocalRuntime

from .helpers import event_types, execution, resume, status


async def test_recorded_step_never_runs_again_across_suspend_and_resume(runtime: LocalRuntime) -> None:
    calls: list[str] = []
    runs: list[int] = []

    def charge(amount: int) -> dict:
        calls.append("charge")
        return {"charged": amount}

    async def email(to: str) -> str:
        calls.append("email")
        return f"sent to {to}"

    @workflow(id="sdk_steps_replay")
    async def wf(ctx, payload):
        runs.append(1)
        receipt = await ctx.step.run("charge", charge, payload["amount"])
        sent = await ctx.step.run("email", email, to="ada@example.com")
        approval = await ctx.step.suspend("approve")
        return {"receipt": receipt, "sent": sent, "approved": approval["data"]}

    handle = await wf.invoke(runtime.client, {"amount": 30})
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    assert calls == ["charge", "email"]

    await resume(runtime, handle, "approve", {"ok": True})
    result = await runtime.client.wait_for_result(handle.id, timeout=5)
    assert result == {"receipt": {"charged": 30}, "sent": "sent to ada@example.com", "approved": {"ok": True}}
    assert calls == ["charge", "email"]
    assert len(runs) == 2  # the workflow function was replayed, its steps were not


async def test_step_finish_events_are_published_once_per_step(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_steps_events")
    async def wf(ctx):
        await ctx.step.run("one", lambda: 1)
        await ctx.step.suspend("pause")
        await ctx.step.run("two", lambda: 2)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    assert await status(runtime, handle) == "completed"
    assert event_types(runtime, handle).count("step_finish") == 2
    assert event_types(runtime, handle)[-1] == "workflow_finish"


async def test_uuid_random_now_are_stable_across_replays(runtime: LocalRuntime) -> None:
    seen: list[tuple[str, float, int]] = []

    @workflow(id="sdk_steps_values")
    async def wf(ctx):
        values = (await ctx.step.uuid("u"), await ctx.step.random("r"), await ctx.step.now("n"))
        seen.append(values)
        await ctx.step.suspend("pause")
        return list(values)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    result = await runtime.client.wait_for_result(handle.id, timeout=5)

    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert result == list(seen[0])
    u, r, n = seen[0]
    assert len(u) == 36 and u.count("-") == 4
    assert 0.0 <= r < 1.0
    assert n > 1_600_000_000_000  # epoch milliseconds


async def test_different_executions_get_different_uuids(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_steps_uuid")
    async def wf(ctx):
        return await ctx.step.uuid("u")

    assert await wf.run(runtime.client) != await wf.run(runtime.client)


async def test_step_retries_with_backoff_then_succeeds(runtime: LocalRuntime) -> None:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "done"

    @workflow(id="sdk_steps_flaky")
    async def wf(ctx):
        return await ctx.step.run("flaky", flaky, max_retries=2, base_delay=0.01)

    assert await wf.run(runtime.client, timeout=5) == "done"
    assert len(attempts) == 3


async def test_sync_step_functions_retry_too(runtime: LocalRuntime) -> None:
    attempts: list[int] = []

    def flaky(x: int) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return x * 2

    @workflow(id="sdk_steps_sync_flaky")
    async def wf(ctx):
        return await ctx.step.run("double", flaky, 21, base_delay=0.01)

    assert await wf.run(runtime.client, timeout=5) == 42
    assert len(attempts) == 2


async def test_final_failure_is_recorded_and_raised_on_every_replay(runtime: LocalRuntime) -> None:
    attempts: list[int] = []
    caught: list[StepExecutionError] = []

    def always_fails() -> None:
        attempts.append(1)
        raise ValueError("card declined")

    @workflow(id="sdk_steps_fails")
    async def wf(ctx):
        try:
            await ctx.step.run("pay", always_fails, max_retries=1, base_delay=0.01)
        except StepExecutionError as exc:
            caught.append(exc)
        await ctx.step.suspend("pause")
        return "handled"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert len(attempts) == 2  # the first try and one retry
    await resume(runtime, handle, "pause")
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == "handled"

    assert len(attempts) == 2  # not called again after the failure was recorded
    assert len(caught) == 2
    for error in caught:
        assert error.step_key == "pay"
        assert error.error_type == "ValueError"
        assert "card declined" in str(error)
    assert str(caught[0]) == str(caught[1])


async def test_uncaught_step_failure_fails_the_execution(runtime: LocalRuntime) -> None:
    def broken() -> None:
        raise KeyError("missing")

    @workflow(id="sdk_steps_uncaught")
    async def wf(ctx):
        await ctx.step.run("broken", broken, max_retries=0)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "StepExecutionError"
    assert "'broken'" in info["error"]
    assert "KeyError" in info["error"]


async def test_long_backoff_becomes_a_durable_timer(fast_runtime: LocalRuntime) -> None:
    runtime = fast_runtime
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("down")
        return "up"

    @workflow(id="sdk_steps_long_backoff")
    async def wf(ctx):
        return await ctx.step.run("call", flaky, max_retries=3, base_delay=1)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    assert len(attempts) == 1

    await runtime.advance(seconds=0.5)
    assert await status(runtime, handle) == "waiting"
    assert len(attempts) == 1

    await runtime.advance(seconds=1)
    assert await status(runtime, handle) == "completed"
    assert await runtime.client.wait_for_result(handle.id) == "up"
    assert len(attempts) == 2


async def test_long_backoff_counts_attempts_across_timers(fast_runtime: LocalRuntime) -> None:
    runtime = fast_runtime
    attempts: list[int] = []

    def always_fails() -> None:
        attempts.append(1)
        raise ConnectionError("down")

    @workflow(id="sdk_steps_long_backoff_fail")
    async def wf(ctx):
        await ctx.step.run("call", always_fails, max_retries=2, base_delay=1)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.advance(seconds=1.5)  # first backoff: 1 s
    assert len(attempts) == 2
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(seconds=2.5)  # second backoff: 2 s
    assert len(attempts) == 3  # max_retries=2: three attempts in all, then the failure is final
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "after 3 attempt(s)" in info["error"]


async def test_same_key_twice_in_one_run_is_non_deterministic(runtime: LocalRuntime) -> None:
    caught: list[NonDeterminismError] = []

    @workflow(id="sdk_steps_dup_key")
    async def wf(ctx):
        await ctx.step.run("fetch", lambda: 1)
        try:
            await ctx.step.run("fetch", lambda: 2)
        except NonDeterminismError as exc:
            caught.append(exc)
            raise

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "NonDeterminismError"
    assert "'fetch'" in info["error"]
    assert caught[0].details["step_key"] == "fetch"


async def test_changed_step_kind_under_a_recorded_key_is_non_deterministic(runtime: LocalRuntime) -> None:
    version = {"new": False}

    @workflow(id="sdk_steps_changed_kind")
    async def wf(ctx):
        if version["new"]:
            await ctx.step.uuid("lookup")
        else:
            await ctx.step.run("lookup", lambda: "value")
        await ctx.step.suspend("pause")
        return "done"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"

    version["new"] = True  # a deploy changed the workflow while it was suspended
    await resume(runtime, handle, "pause")
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "NonDeterminismError"
    assert "'lookup'" in info["error"]
    assert "'run'" in info["error"] and "'uuid'" in info["error"]


@pytest.mark.parametrize("bad_key", ["", None, 3])
async def test_step_key_must_be_a_non_empty_string(runtime: LocalRuntime, bad_key: object) -> None:
    @workflow(id="sdk_steps_bad_key")
    async def wf(ctx):
        await ctx.step.run(bad_key, lambda: 1)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "ConfigurationError"
    assert "step key" in info["error"]


async def test_non_json_step_result_fails_the_step_with_a_clear_error(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_steps_bytes")
    async def wf(ctx):
        await ctx.step.run("read", lambda: b"raw", max_retries=0)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "base64" in info["error"]


async def test_publish_event_publishes_once_per_key(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_steps_publish")
    async def wf(ctx):
        await ctx.step.publish_event("notify", "orders", {"n": 1}, event_type="created")
        await ctx.step.publish_workflow_event("progress", {"pct": 50}, event_type="progress")
        await ctx.step.suspend("pause")

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    assert await status(runtime, handle) == "completed"
    orders = runtime.store.list_events("orders")
    assert [(e.event_type, e.data) for e in orders] == [("created", {"n": 1})]
    assert event_types(runtime, handle).count("progress") == 1


class Invoice(BaseModel):
    number: str
    lines: list[int]


async def test_model_step_results_replay_as_models(runtime: LocalRuntime) -> None:
    seen: list[object] = []

    @workflow(id="sdk_steps_model_result")
    async def wf(ctx):
        invoice = await ctx.step.run("make", lambda: Invoice(number="INV-1", lines=[1, 2]))
        seen.append(invoice)
        await ctx.step.suspend("pause")
        return invoice.number

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await resume(runtime, handle, "pause")
    assert await runtime.client.wait_for_result(handle.id) == "INV-1"
    assert seen == [Invoice(number="INV-1", lines=[1, 2])] * 2
    assert all(type(x) is Invoice for x in seen)
