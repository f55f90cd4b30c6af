"""``@workflow``: definition checks, the registry, payload validation and invoking."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from polos import (
    BatchWorkflowInput,
    ConfigurationError,
    ExecutionFailedError,
    PayloadValidationError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
    get_all_workflows,
    get_workflow,
    queue,
    workflow,
)
from polos.exceptions import WorkflowDefinitionError
from polos.testing import LocalRuntime


class Signup(BaseModel):
    email: str
    age: int


class Greeting(BaseModel):
    text: str


# --- definitions -----------------------------------------------------------------------------------


def test_bare_decorator_registers_under_the_function_name() -> None:
    @workflow
    async def sdk_wf_bare(ctx):
        """Says hello."""

    assert get_workflow("sdk_wf_bare") is sdk_wf_bare
    assert "sdk_wf_bare" in get_all_workflows()
    assert sdk_wf_bare.description == "Says hello."


def test_explicit_id_and_queue_forms() -> None:
    @workflow(id="sdk_wf_q1", queue="emails")
    async def a(ctx):
        pass

    @workflow(id="sdk_wf_q2", queue={"name": "llm", "concurrency_limit": 3})
    async def b(ctx):
        pass

    @workflow(id="sdk_wf_q3", queue=queue("llm", concurrency_limit=2))
    async def c(ctx):
        pass

    assert (a.queue.name, a.queue.concurrency_limit) == ("emails", None)
    assert (b.queue.name, b.queue.concurrency_limit) == ("llm", 3)
    assert (c.queue.name, c.queue.concurrency_limit) == ("llm", 2)


@pytest.mark.parametrize("arity", [0, 3])
def test_function_must_take_ctx_or_ctx_and_payload(arity: int) -> None:
    async def none():
        pass

    async def three(ctx, payload, extra):
        pass

    func = none if arity == 0 else three
    with pytest.raises(WorkflowDefinitionError, match=r"\(ctx\) or \(ctx, payload\)"):
        workflow(id=f"sdk_wf_arity_{arity}")(func)
    assert get_workflow(f"sdk_wf_arity_{arity}") is None


def test_batch_size_needs_trigger_on_event() -> None:
    with pytest.raises(WorkflowDefinitionError, match="trigger_on_event"):

        @workflow(id="sdk_wf_batch_no_topic", batch_size=10)
        async def wf(ctx, payload):
            pass


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_batch_size_must_be_a_whole_number_at_least_one(size: object) -> None:
    with pytest.raises(WorkflowDefinitionError, match="batch_size"):

        @workflow(id="sdk_wf_batch_bad", trigger_on_event="orders", batch_size=size)
        async def wf(ctx, payload):
            pass


def test_schedule_and_trigger_on_event_are_exclusive() -> None:
    with pytest.raises(WorkflowDefinitionError, match="either event-triggered or scheduled"):

        @workflow(id="sdk_wf_both", trigger_on_event="orders", schedule="0 * * * *")
        async def wf(ctx, payload):
            pass


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("0 25 * * *", "hour"),
        ("61 * * * *", "minute"),
        ("0 0 32 * *", "day of month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * 8", "day of week"),
        ("0 9-5 * * *", "hour"),
        ("0 x * * *", "hour"),
    ],
)
def test_invalid_cron_names_the_field(cron: str, field: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as info:

        @workflow(id="sdk_wf_cron_bad", schedule=cron)
        async def wf(ctx, payload):
            pass

    assert field in str(info.value)
    assert get_workflow("sdk_wf_cron_bad") is None


def test_cron_with_wrong_number_of_fields() -> None:
    with pytest.raises(WorkflowDefinitionError, match="needs 5"):

        @workflow(id="sdk_wf_cron_short", schedule="* * *")
        async def wf(ctx, payload):
            pass


def test_valid_schedules_are_normalized() -> None:
    @workflow(id="sdk_wf_cron_ok", schedule={"cron": "0 9 * * MON-FRI", "timezone": "Europe/Paris", "key": "k"})
    async def wf(ctx, payload):
        pass

    assert wf.schedule == {"cron": "0 9 * * mon-fri", "timezone": "Europe/Paris", "key": "k"}


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="Mars/Olympus"):

        @workflow(id="sdk_wf_tz", schedule={"cron": "0 9 * * *", "timezone": "Mars/Olympus"})
        async def wf(ctx, payload):
            pass


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "q", "concurrency_limit": -1}, "at least 1"),
        ({"name": "q", "concurrency_limit": 0}, "at least 1"),
        ({"name": "q", "concurrency_limit": "5"}, "whole number"),
        ("", "non-empty name"),
        ("   ", "non-empty name"),
        (5, "queue must be a name"),
        ({"nme": "q"}, "takes 'name'"),
    ],
)
def test_bad_queue_is_refused(spec: object, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match=message):

        @workflow(id="sdk_wf_bad_queue", queue=spec)
        async def wf(ctx):
            pass

    assert get_workflow("sdk_wf_bad_queue") is None


def test_duplicate_id_with_another_function_is_refused() -> None:
    @workflow(id="sdk_wf_dup")
    async def first(ctx):
        pass

    with pytest.raises(WorkflowDefinitionError, match="sdk_wf_dup"):

        @workflow(id="sdk_wf_dup")
        async def second(ctx):
            pass

    assert get_workflow("sdk_wf_dup") is first


def test_redefining_the_same_function_is_not_a_duplicate() -> None:
    def define():
        @workflow(id="sdk_wf_redefined")
        async def same(ctx):
            pass

        return same

    define()
    again = define()  # what a re-import (autoreload, __main__ vs module) does
    assert get_workflow("sdk_wf_redefined") is again


@pytest.mark.parametrize("bad_id", ["has space", "tab\there", "a/b", "trailing "])
def test_ids_with_spaces_or_slashes_are_refused(bad_id: str) -> None:
    async def wf(ctx):
        pass

    with pytest.raises(WorkflowDefinitionError):
        workflow(id=bad_id)(wf)


def test_state_schema_must_be_a_model() -> None:
    with pytest.raises(WorkflowDefinitionError, match="state_schema"):

        @workflow(id="sdk_wf_bad_state", state_schema=dict)
        async def wf(ctx):
            pass


# --- invoking ----------------------------------------------------------------------------------------


async def test_payload_is_validated_into_the_model_and_model_results_round_trip(runtime: LocalRuntime) -> None:
    seen = []

    @workflow(id="sdk_wf_greet")
    async def greet(ctx, payload: Signup) -> Greeting:
        seen.append(payload)
        return Greeting(text=f"hi {payload.email} ({payload.age})")

    result = await greet.run(runtime.client, {"email": "a@b.c", "age": "42"})
    assert result == Greeting(text="hi a@b.c (42)")
    assert isinstance(seen[0], Signup)
    assert seen[0].age == 42


async def test_invalid_payload_names_the_field_and_creates_nothing(runtime: LocalRuntime) -> None:
    ran = []

    @workflow(id="sdk_wf_signup")
    async def signup(ctx, payload: Signup):
        ran.append(payload)

    with pytest.raises(PayloadValidationError) as info:
        await signup.invoke(runtime.client, {"email": "a@b.c", "age": "old"})
    assert "'age'" in str(info.value)
    assert "'email'" not in str(info.value)

    with pytest.raises(PayloadValidationError, match="'email'"):
        await runtime.client.invoke("sdk_wf_signup", {"age": 3})

    await runtime.run_until_idle()
    assert runtime.outcomes == []
    assert ran == []


async def test_payload_for_a_workflow_without_payload_is_refused(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_no_payload")
    async def wf(ctx):
        return "ok"

    with pytest.raises(PayloadValidationError, match="takes no payload"):
        await wf.invoke(runtime.client, {"x": 1})
    assert await wf.run(runtime.client) == "ok"


async def test_non_json_payload_is_refused_at_invoke(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_untyped")
    async def wf(ctx, payload):
        return payload

    with pytest.raises(Exception, match="bytes"):
        await wf.invoke(runtime.client, {"blob": b"x"})
    await runtime.run_until_idle()
    assert runtime.outcomes == []


async def test_unknown_workflow_id(runtime: LocalRuntime) -> None:
    with pytest.raises(WorkflowNotFoundError, match="sdk_wf_does_not_exist"):
        await runtime.client.invoke("sdk_wf_does_not_exist", {})


async def test_sync_workflow_function(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_sync")
    def add(ctx, payload):
        return payload["a"] + payload["b"]

    assert await add.run(runtime.client, {"a": 2, "b": 3}) == 5


async def test_invoke_inside_a_running_workflow_is_refused(runtime: LocalRuntime) -> None:
    child_runs = []

    @workflow(id="sdk_wf_inner")
    async def inner(ctx):
        child_runs.append(1)

    @workflow(id="sdk_wf_outer")
    async def outer(ctx):
        try:
            await inner.invoke(runtime.client)
        except ConfigurationError as exc:
            return str(exc)
        return "invoked"

    message = await outer.run(runtime.client)
    assert "ctx.step.invoke" in message
    await runtime.run_until_idle()
    assert child_runs == []


async def test_run_raises_execution_failed_error_for_a_failed_workflow(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_boom")
    async def boom(ctx):
        raise ValueError("kaput")

    with pytest.raises(ExecutionFailedError, match="kaput"):
        await boom.run(runtime.client)


async def test_run_timeout_is_the_callers_and_does_not_cancel(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_slow_human")
    async def slow(ctx):
        answer = await ctx.step.suspend("ask")
        return answer["data"]

    with pytest.raises(WorkflowTimeoutError):
        await slow.run(runtime.client, timeout=0.2)
    [(execution_id, outcome)] = runtime.outcomes
    assert outcome == "waiting"
    execution = await runtime.client.get_execution(execution_id)
    await runtime.client.resume(execution["root_workflow_id"], execution_id, "ask", "yes")
    assert await runtime.client.wait_for_result(execution_id, timeout=5) == "yes"


class Shipment(BaseModel):
    to: Signup
    weight: float


async def test_nested_payload_errors_name_the_full_path(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_nested_payload")
    async def ship(ctx, payload: Shipment):
        return payload.weight

    with pytest.raises(PayloadValidationError, match=r"'to\.age'"):
        await ship.invoke(runtime.client, {"to": {"email": "a@b.c", "age": "x"}, "weight": 1})
    assert await ship.run(runtime.client, Shipment(to=Signup(email="a@b.c", age=1), weight=2.5), timeout=5) == 2.5


async def test_invoke_options_are_stored_on_the_execution(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_options", queue="default-lane")
    async def wf(ctx):
        return 1

    plain = await wf.invoke(runtime.client)
    routed = await wf.invoke(runtime.client, queue="fast-lane", concurrency_key="tenant-1")
    await runtime.run_until_idle()
    assert (await runtime.client.get_execution(plain.id))["queue_name"] == "default-lane"
    info = await runtime.client.get_execution(routed.id)
    assert (info["queue_name"], info["concurrency_key"]) == ("fast-lane", "tenant-1")

    with pytest.raises(WorkflowDefinitionError, match="non-empty name"):
        await wf.invoke(runtime.client, queue="")


async def test_client_batch_invoke_returns_handles_in_order(runtime: LocalRuntime) -> None:
    @workflow(id="sdk_wf_batch_client")
    async def wf(ctx, payload):
        return payload * 10

    handles = await runtime.client.batch_invoke(
        [BatchWorkflowInput(id="sdk_wf_batch_client", payload=n) for n in (3, 1, 2)]
    )
    assert [await runtime.client.wait_for_result(h.id, timeout=5) for h in handles] == [30, 10, 20]
