"""Durable waits: timers, events, suspend/resume and their timeouts."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from polos import NotResumableError, StepTimeoutError, workflow
from polos.store import NewEvent
from polos.testing import LocalRuntime

from .helpers import event_types, execution, resume, status


def _outcomes(runtime: LocalRuntime, execution_id: str) -> list[str]:
    return [outcome for eid, outcome in runtime.outcomes if eid == execution_id]


# --- timers ------------------------------------------------------------------------------------------


async def test_short_wait_for_sleeps_inline(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_short")
    async def wf(ctx):
        before = await ctx.step.now("before")
        await ctx.step.wait_for("nap", seconds=0.05)
        return (await ctx.step.now("after")) - before

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert _outcomes(runtime, handle.id) == ["completed"]  # never left the worker
    assert await runtime.client.wait_for_result(handle.id) >= 45


async def test_long_wait_for_is_a_durable_timer(runtime: LocalRuntime) -> None:
    runs: list[int] = []

    @workflow(id="sdk_wait_long")
    async def wf(ctx):
        runs.append(1)
        await ctx.step.wait_for("nap", hours=1, minutes=30)
        return "awake"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"

    await runtime.advance(hours=1)
    assert await status(runtime, handle) == "waiting"

    await runtime.advance(minutes=31)
    assert await status(runtime, handle) == "completed"
    assert await runtime.client.wait_for_result(handle.id) == "awake"
    assert len(runs) == 2


async def test_wait_for_adds_up_its_units(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_units")
    async def wf(ctx):
        await ctx.step.wait_for("nap", weeks=1, days=1)
        return "awake"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.advance(days=7, hours=23)
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(hours=1, seconds=1)
    assert await status(runtime, handle) == "completed"


async def test_negative_wait_is_refused(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_negative")
    async def wf(ctx):
        await ctx.step.wait_for("nap", seconds=-5)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert "positive duration" in info["error"]


async def test_wait_until_a_future_date(runtime: LocalRuntime) -> None:
    target = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)

    @workflow(id="sdk_wait_until")
    async def wf(ctx):
        await ctx.step.wait_until("deadline", target)
        return "due"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(days=1)
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(days=1, seconds=5)
    assert await runtime.client.wait_for_result(handle.id) == "due"


async def test_wait_until_a_past_date_returns_at_once(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_until_past")
    async def wf(ctx):
        await ctx.step.wait_until("deadline", dt.datetime(2000, 1, 1))  # naive: taken as UTC
        return "late"

    assert await wf.run(runtime.client, timeout=5) == "late"


# --- events ------------------------------------------------------------------------------------------


async def test_wait_for_event_receives_an_event_published_later(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_event")
    async def wf(ctx):
        event = await ctx.step.wait_for_event("paid", "payments/42")
        return {"type": event.event_type, "data": event.data, "topic": event.topic}

    runtime.store.publish_events("payments/42", [NewEvent("early", {"x": 0})])  # before the wait began
    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"

    runtime.store.publish_events("payments/other", [NewEvent("paid", {"x": 9})])
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"

    runtime.store.publish_events("payments/42", [NewEvent("paid", {"amount": 10})])
    await runtime.run_until_idle()
    assert await runtime.client.wait_for_result(handle.id) == {
        "type": "paid",
        "data": {"amount": 10},
        "topic": "payments/42",
    }


async def test_wait_for_event_via_the_client(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_event_client")
    async def wf(ctx):
        first = await ctx.step.wait_for_event("first", "chat")
        second = await ctx.step.wait_for_event("second", "chat")
        return [first.data, second.data]

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.client.publish("chat", "message", "hello")
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    await runtime.client.publish("chat", "message", "world")
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == ["hello", "world"]


async def test_wait_for_event_timeout(runtime: LocalRuntime) -> None:
    caught: list[StepTimeoutError] = []

    @workflow(id="sdk_wait_event_timeout")
    async def wf(ctx):
        try:
            await ctx.step.wait_for_event("reply", "inbox", timeout=60)
        except StepTimeoutError as exc:
            caught.append(exc)
            return "gave up"
        return "replied"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.advance(seconds=30)
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(seconds=31)
    assert await runtime.client.wait_for_result(handle.id) == "gave up"
    assert caught[0].step_key == "reply"
    assert "timed out" in str(caught[0])


async def test_event_after_timeout_does_not_change_the_outcome(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_event_late")
    async def wf(ctx):
        await ctx.step.wait_for_event("reply", "late-inbox", timeout=10)

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.advance(seconds=11)
    runtime.store.publish_events("late-inbox", [NewEvent("reply", "too late")])
    await runtime.run_until_idle()
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "StepTimeoutError"


# --- suspend / resume -------------------------------------------------------------------------------


async def test_suspend_publishes_and_returns_the_resume_event(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_suspend")
    async def wf(ctx):
        answer = await ctx.step.suspend("approve", {"_form": {"title": "Ship it?"}, "amount": 5})
        return answer

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    [suspend_event] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "suspend_approve"]
    assert suspend_event.data["_form"] == {"title": "Ship it?"}
    assert suspend_event.data["amount"] == 5
    assert "_approval_url" in suspend_event.data

    await resume(runtime, handle, "approve", {"approved": True, "note": "lgtm"})
    result = await runtime.client.wait_for_result(handle.id)
    assert result["data"] == {"approved": True, "note": "lgtm"}
    assert result["event_type"] == "resume_approve"
    assert "resume_approve" in event_types(runtime, handle)


async def test_suspend_without_data_still_carries_the_approval_url(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_suspend_plain")
    async def wf(ctx):
        return (await ctx.step.suspend("ok"))["data"]

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    [event] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "suspend_ok"]
    assert "_approval_url" in event.data
    await resume(runtime, handle, "ok", "fine")
    assert await runtime.client.wait_for_result(handle.id) == "fine"


async def test_suspend_timeout_is_enforced(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_suspend_timeout")
    async def wf(ctx):
        await ctx.step.suspend("approve", {"_form": {"title": "?"}}, timeout=3600)
        return "approved"

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    [event] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "suspend_approve"]
    assert "expiresAt" in event.data["_form"]

    await runtime.advance(minutes=59)
    assert await status(runtime, handle) == "waiting"
    await runtime.advance(minutes=2)
    info = await execution(runtime, handle)
    assert info["status"] == "failed"
    assert info["error_type"] == "StepTimeoutError"
    assert "'approve'" in info["error"] and "timed out" in info["error"]

    with pytest.raises(NotResumableError):  # too late to approve
        await runtime.client.resume(handle.root_workflow_id, handle.id, "approve", {"ok": True})


async def test_resume_of_an_execution_not_waiting_for_that_key(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_wrong_key")
    async def wf(ctx):
        return (await ctx.step.suspend("approve"))["data"]

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    events_before = event_types(runtime, handle)

    with pytest.raises(NotResumableError, match="'reject'"):
        await runtime.client.resume(handle.root_workflow_id, handle.id, "reject", {"ok": False})
    await runtime.run_until_idle()
    assert await status(runtime, handle) == "waiting"
    assert event_types(runtime, handle) == events_before

    await resume(runtime, handle, "approve", "yes")
    assert await runtime.client.wait_for_result(handle.id) == "yes"
    with pytest.raises(NotResumableError):  # a second resume of the same suspend
        await runtime.client.resume(handle.root_workflow_id, handle.id, "approve", "again")
    assert await runtime.client.wait_for_result(handle.id) == "yes"


async def test_step_resume_resumes_another_execution_once(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_approvee")
    async def approvee(ctx):
        return (await ctx.step.suspend("gate"))["data"]

    @workflow(id="sdk_wait_approver")
    async def approver(ctx, payload):
        await ctx.step.resume("open", "gate", payload["id"], "sdk_wait_approvee", {"by": "approver"})
        return "opened"

    target = await approvee.invoke(runtime.client)
    await runtime.run_until_idle()
    assert await approver.run(runtime.client, {"id": target.id}, timeout=5) == "opened"
    assert await runtime.client.wait_for_result(target.id, timeout=5) == {"by": "approver"}


async def test_every_waiter_on_a_topic_gets_the_event(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_fanout")
    async def wf(ctx):
        return (await ctx.step.wait_for_event("go", "starter-pistol")).data

    handles = [await wf.invoke(runtime.client) for _ in range(3)]
    await runtime.run_until_idle()
    await runtime.client.publish("starter-pistol", "go", {"lane": "all"})
    for handle in handles:
        assert await runtime.client.wait_for_result(handle.id, timeout=5) == {"lane": "all"}


class Ping(BaseModel):
    seq: int


async def test_events_hold_plain_json_even_when_published_as_models(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_plain_events")
    async def wf(ctx):
        event = await ctx.step.wait_for_event("ping", "pings")
        answer = await ctx.step.suspend("ack")
        return [event.data, answer["data"]]

    handle = await wf.invoke(runtime.client)
    await runtime.run_until_idle()
    await runtime.client.publish("pings", "ping", Ping(seq=1))
    await runtime.run_until_idle()
    await resume(runtime, handle, "ack", Ping(seq=2))

    assert await runtime.client.wait_for_result(handle.id, timeout=5) == [{"seq": 1}, {"seq": 2}]
    assert [e.data for e in runtime.store.list_events("pings")] == [{"seq": 1}]
    [resumed] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "resume_ack"]
    assert resumed.data == {"seq": 2}


async def test_finish_event_carries_the_result_as_plain_json(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wait_finish_plain")
    async def wf(ctx):
        return Ping(seq=3)

    handle = await wf.invoke(runtime.client)
    assert await runtime.client.wait_for_result(handle.id, timeout=5) == Ping(seq=3)
    [finish] = [e for e in runtime.store.list_events(handle.topic) if e.event_type == "workflow_finish"]
    assert finish.data["result"] == {"seq": 3}
    assert (await execution(runtime, handle))["result"] == {"seq": 3}
