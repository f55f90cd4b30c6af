"""The agent loop on the in-memory runtime with a scripted model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from polos import (
    Agent,
    GuardrailResult,
    HookResult,
    StopConditionContext,
    WorkflowContext,
    executed_tool,
    max_steps,
    stop_condition,
    tool,
    workflow,
)
from polos.agents import GuardrailError, HookFailedError, StructuredOutputError
from polos.exceptions import ExecutionFailedError, WorkflowDefinitionError
from polos.llm.types import ToolResultPart
from polos.testing import Reply, ScriptedModel, run_agent_to_completion

pytestmark = pytest.mark.once


class City(BaseModel):
    city: str


def weather_tool(calls: list[str] | None = None, inline: bool | None = None):
    @tool(description="Current weather of a city", inline=inline)
    async def get_weather(ctx: WorkflowContext, input: City) -> dict:
        if calls is not None:
            calls.append(input.city)
        return {"city": input.city, "temperature_c": 21}

    return get_weather


def last_tool_results(model: ScriptedModel) -> list[ToolResultPart]:
    return [p for p in model.requests[-1].messages[-1].content if isinstance(p, ToolResultPart)]


async def test_tool_loop_returns_the_final_answer(runtime):
    calls: list[str] = []
    model = ScriptedModel([Reply(tool_calls=[("get_weather", {"city": "Paris"})]), "It is 21 C in Paris."])
    agent = Agent(id="t_weather", provider=model, model="m", tools=[weather_tool(calls)])

    result = await agent.run(runtime.client, "Weather in Paris?")

    assert result.result == "It is 21 C in Paris."
    assert result.total_steps == 2
    assert calls == ["Paris"]
    assert [r.status for r in result.tool_results] == ["completed"]
    assert result.tool_results[0].result == {"city": "Paris", "temperature_c": 21}
    [part] = last_tool_results(model)
    assert part.is_error is False and '"temperature_c": 21' in part.content
    assert model.requests[0].tools[0].name == "get_weather"
    assert model.requests[0].tools[0].input_schema["required"] == ["city"]


@pytest.mark.parametrize("inline", [True, False], ids=["inline-steps", "child-executions"])
async def test_several_tool_calls_run_in_parallel(runtime, inline):
    import asyncio

    running: list[int] = []
    overlap: list[int] = []

    @tool(inline=inline)
    async def slow(ctx: WorkflowContext, input: City) -> str:
        running.append(1)
        await asyncio.sleep(0.3)
        overlap.append(len(running))
        return input.city

    model = ScriptedModel([Reply(tool_calls=[("slow", {"city": "Paris"}), ("slow", {"city": "Oslo"})]), "done"])
    agent = Agent(id="t_parallel", provider=model, model="m", tools=[slow])
    result = await agent.run(runtime.client, "Paris and Oslo?")
    assert [r.result for r in result.tool_results] == ["Paris", "Oslo"]
    assert overlap[0] == 2  # the second call started before the first finished
    children = [r for r in runtime.store._rows.values() if r.record.parent_execution_id == result.agent_run_id]
    steps = set(runtime.store._rows[result.agent_run_id].steps)
    if inline:
        assert children == [] and {"tool_1_0", "tool_1_1"} <= steps
    else:
        assert sorted(c.record.workflow_type for c in children) == ["tool", "tool"]
        assert "tools_1" in steps


async def test_unknown_tool_and_invalid_input_are_reported_to_the_model(runtime):
    model = ScriptedModel([Reply(tool_calls=[("nope", {}), ("get_weather", {"town": "x"})]), "sorry"])
    agent = Agent(id="t_errors", provider=model, model="m", tools=[weather_tool()])
    result = await agent.run(runtime.client, "go")
    unknown, invalid = last_tool_results(model)
    assert unknown.is_error and "Unknown tool 'nope'" in unknown.content and "get_weather" in unknown.content
    assert invalid.is_error and "field 'city'" in invalid.content
    assert result.result == "sorry"
    assert [r.status for r in result.tool_results] == ["failed", "failed"]


async def test_a_failing_tool_is_an_error_result_not_a_failed_agent(runtime):
    @tool
    def explode(ctx: WorkflowContext) -> None:
        raise ValueError("boom")

    model = ScriptedModel([Reply(tool_calls=[("explode", {})]), "it failed"])
    agent = Agent(id="t_explode", provider=model, model="m", tools=[explode])
    result = await agent.run(runtime.client, "go")
    [part] = last_tool_results(model)
    assert part.is_error and "boom" in part.content
    assert result.result == "it failed"


async def test_usage_is_summed_with_cache_tokens_and_cost(runtime):
    from polos.llm import LLMUsage

    usage = LLMUsage(input_tokens=10, output_tokens=5, cache_read_tokens=100, cache_creation_tokens=40)
    model = ScriptedModel(
        [Reply(tool_calls=[("get_weather", {"city": "A"})], usage=usage), Reply(text="x", usage=usage)]
    )
    agent = Agent(id="t_usage", provider=model, model="claude-sonnet-4-5", tools=[weather_tool()])
    result = await agent.run(runtime.client, "go")
    assert result.usage.input_tokens == 20
    assert result.usage.output_tokens == 10
    assert result.usage.cache_read_input_tokens == 200
    assert result.usage.cache_creation_input_tokens == 80
    assert result.usage.total_tokens == 310
    # claude-sonnet-4-5: $3 in, $15 out, reads 0.1x, writes 1.25x (per million tokens)
    expected = 2 * (10 * 3 + 5 * 15 + 100 * 0.3 + 40 * 3.75) / 1_000_000
    assert result.cost_usd == pytest.approx(expected)


async def test_max_steps_stops_the_loop(runtime):
    model = ScriptedModel(lambda request: Reply(text="again", tool_calls=[("get_weather", {"city": "A"})]))
    agent = Agent(id="t_max", provider=model, model="m", tools=[weather_tool()], stop_conditions=[max_steps(count=3)])
    result = await agent.run(runtime.client, "loop")
    assert result.total_steps == 3
    assert model.calls == 3
    assert result.result == "again"


async def test_default_step_limit(runtime, monkeypatch):
    monkeypatch.setenv("POLOS_AGENT_MAX_STEPS", "4")
    model = ScriptedModel(lambda request: Reply(tool_calls=[("get_weather", {"city": "A"})]))
    agent = Agent(id="t_default_max", provider=model, model="m", tools=[weather_tool()])
    result = await agent.run(runtime.client, "loop")
    assert model.calls == 4 and result.total_steps == 4


async def test_executed_tool_and_custom_stop_conditions(runtime):
    model = ScriptedModel(lambda request: Reply(text="hm", tool_calls=[("get_weather", {"city": "A"})]))
    agent = Agent(
        id="t_executed",
        provider=model,
        model="m",
        tools=[weather_tool()],
        stop_conditions=[executed_tool(tool_names=["get_weather"])],
    )
    assert (await agent.run(runtime.client, "x")).total_steps == 1

    seen: list[int] = []

    @stop_condition
    def two_steps(ctx: StopConditionContext) -> bool:
        seen.append(len(ctx.steps))
        return len(ctx.steps) >= 2

    model2 = ScriptedModel(lambda request: Reply(tool_calls=[("get_weather", {"city": "A"})]))
    agent2 = Agent(id="t_custom_stop", provider=model2, model="m", tools=[weather_tool()], stop_conditions=[two_steps])
    assert (await agent2.run(runtime.client, "x")).total_steps == 2
    assert seen == [1, 2]


async def test_structured_output_with_one_corrective_retry(runtime):
    class Answer(BaseModel):
        city: str
        temperature_c: int

    model = ScriptedModel(["It is warm.", '```json\n{"city": "Paris", "temperature_c": 21}\n```'])
    agent = Agent(id="t_structured", provider=model, model="m", output_schema=Answer)
    result = await agent.run(runtime.client, "Weather?")
    assert result.result == Answer(city="Paris", temperature_c=21)
    assert result.result_schema and result.result_schema.endswith("Answer")
    assert model.requests[0].output_schema["required"] == ["city", "temperature_c"]
    assert "does not match the required JSON schema" in model.requests[1].messages[-1].text


async def test_structured_output_that_cannot_be_met_fails_clearly(runtime):
    class Answer(BaseModel):
        value: int

    model = ScriptedModel(["no", '{"value": "not a number"}'])
    agent = Agent(id="t_structured_fail", provider=model, model="m", output_schema=Answer)
    with pytest.raises(ExecutionFailedError) as info:
        await agent.run(runtime.client, "x")
    assert "does not match output_schema Answer after one corrective retry" in str(info.value)
    assert "field 'value'" in str(info.value)
    assert StructuredOutputError.code == "structured_output_failed"


async def test_function_guardrail_retries_with_feedback_under_distinct_keys(runtime):
    verdicts = iter([GuardrailResult.fail("do not shout"), GuardrailResult.continue_with()])

    def no_shouting(ctx, guardrail_context):
        return next(verdicts)

    model = ScriptedModel(["HELLO", "hello"])
    agent = Agent(id="t_guard", provider=model, model="m", guardrails=[no_shouting])
    result = await agent.run(runtime.client, "greet")
    assert result.result == "hello"
    assert "do not shout" in model.requests[1].messages[-1].text
    keys = set(runtime.store._rows[result.agent_run_id].steps)
    assert {"llm_1", "llm_1_retry_1", "guardrail_1_0_0", "guardrail_1_1_0"} <= keys
    # The rejected reply is not part of the conversation the next run would see.
    assert model.requests[1].messages[-2].text == "HELLO"


async def test_string_guardrails_are_checked_by_the_model(runtime):
    def script(request):
        if request.system and "check an AI assistant's reply" in request.system:
            passed = "bad" not in request.messages[0].text.split("Reply to check:")[1]
            return '{"passed": %s, "reason": "no bad words"}' % ("true" if passed else "false")
        return "bad answer" if sum(1 for r in model.requests if not r.system) == 1 else "good answer"

    model = ScriptedModel(script)
    agent = Agent(id="t_rules", provider=model, model="m", guardrails=["Never say bad.", "Be polite."])
    result = await agent.run(runtime.client, "x")
    assert result.result == "good answer"
    keys = set(runtime.store._rows[result.agent_run_id].steps)
    assert {"guardrail_1_0_0_llm", "guardrail_1_1_0_llm", "guardrail_1_1_1_llm"} <= keys


async def test_guardrail_exhausted_fails_the_run(runtime):
    model = ScriptedModel(["a", "b"])
    agent = Agent(
        id="t_guard_fail",
        provider=model,
        model="m",
        guardrails=[lambda ctx, g: GuardrailResult.fail("never good")],
        guardrail_max_retries=1,
    )
    with pytest.raises(ExecutionFailedError, match="every reply was rejected by its guardrails"):
        await agent.run(runtime.client, "x")
    assert GuardrailError.code == "guardrail_failed"


async def test_guardrail_can_modify_the_reply(runtime):
    model = ScriptedModel(["my password is hunter2"])
    agent = Agent(
        id="t_redact",
        provider=model,
        model="m",
        guardrails=[lambda ctx, g: GuardrailResult.continue_with(modified_content=g.content.replace("hunter2", "***"))],
    )
    assert (await agent.run(runtime.client, "x")).result == "my password is ***"


async def test_hooks_run_in_order_and_can_change_tool_input_and_output(runtime):
    order: list[str] = []

    def on_start(ctx, hc):
        order.append("start")

    def step_start(ctx, hc):
        order.append(f"step_start {hc.current_payload['step']}")

    def step_end(ctx, hc):
        order.append(f"step_end {hc.current_output.step}")

    def tool_start(ctx, hc):
        order.append(f"tool_start {hc.current_tool}")
        return HookResult.continue_with(modified_payload={"city": "Rome"})

    def tool_end(ctx, hc):
        order.append("tool_end")
        return HookResult.continue_with(modified_output={"city": hc.current_output["city"], "note": "hooked"})

    def on_end(ctx, hc):
        order.append("end")
        return HookResult.continue_with(modified_output=hc.current_output.result.upper())

    model = ScriptedModel([Reply(tool_calls=[("get_weather", {"city": "Paris"})]), "fine"])
    agent = Agent(
        id="t_hooks",
        provider=model,
        model="m",
        tools=[weather_tool()],
        on_start=on_start,
        on_end=on_end,
        on_agent_step_start=step_start,
        on_agent_step_end=step_end,
        on_tool_start=tool_start,
        on_tool_end=tool_end,
    )
    result = await agent.run(runtime.client, "x")
    assert order == [
        "start",
        "step_start 1",
        "tool_start get_weather",
        "tool_end",
        "step_end 1",
        "step_start 2",
        "step_end 2",
        "end",
    ]
    assert result.tool_results[0].result == {"city": "Rome", "note": "hooked"}
    assert result.result == "FINE"


async def test_a_failing_hook_fails_the_run_with_its_message(runtime):
    model = ScriptedModel(["x"])
    agent = Agent(id="t_hook_fail", provider=model, model="m", on_start=lambda ctx, hc: HookResult.fail("not today"))
    with pytest.raises(ExecutionFailedError, match="not today"):
        await agent.run(runtime.client, "x")
    assert model.calls == 0
    assert HookFailedError.code == "hook_failed"


async def test_streaming_publishes_coalesced_text_and_tool_events(runtime):
    model = ScriptedModel(
        [
            Reply(text="Let me look that up for you", tool_calls=[("get_weather", {"city": "Paris"})]),
            Reply(text="It is a sunny day in Paris today", reasoning="The tool said 21 C"),
        ]
    )
    agent = Agent(id="t_stream", provider=model, model="m", tools=[weather_tool()])
    stream = await agent.stream(runtime.client, "Weather?")
    text = await stream.text()
    assert text == "Let me look that up for you" + "It is a sunny day in Paris today"
    events = [e async for e in stream.events]
    types = [e.event_type for e in events]
    for expected in ("agent_start", "stream_start", "text_delta", "reasoning_delta", "tool_call", "tool_start"):
        assert expected in types
    assert types.index("tool_call") < types.index("tool_start") < types.index("tool_finish")
    assert types[-1] == "workflow_finish"
    assert "agent_finish" in types
    # Coalesced: far fewer delta events than words.
    assert types.count("text_delta") < len(text.split())
    result = await stream.result()
    assert result.result == "It is a sunny day in Paris today"


async def test_session_memory_is_per_agent_and_session(runtime):
    model = ScriptedModel(["Nice to meet you, Ada.", "Your name is Ada.", "I don't know your name."])
    agent = Agent(id="t_memory", provider=model, model="m")
    other = Agent(id="t_memory_other", provider=model, model="m")
    await agent.run(runtime.client, "My name is Ada.", session_id="s1")
    await agent.run(runtime.client, "What is my name?", session_id="s1")
    await other.run(runtime.client, "What is my name?", session_id="s1")
    second, third = model.requests[1], model.requests[2]
    assert [m.text for m in second.messages] == ["My name is Ada.", "Nice to meet you, Ada.", "What is my name?"]
    assert [m.text for m in third.messages] == ["What is my name?"]


async def test_compaction_summarizes_old_history(runtime):
    from polos.memory.types import CompactionConfig

    def script(request):
        if request.metadata.get("purpose") == "compaction":
            return "SUMMARY: the user likes tea."
        return "ok " + "x" * 400

    model = ScriptedModel(script)
    config = CompactionConfig(max_conversation_tokens=300, keep_recent_messages=2)
    agent = Agent(id="t_compact", provider=model, model="m", compaction=config, system_prompt="Be brief.")
    for turn in range(4):
        await agent.run(runtime.client, f"turn {turn} " + "y" * 400, session_id="s")
    last = model.requests[-1]
    assert "SUMMARY: the user likes tea." in last.system and last.system.startswith("Be brief.")
    assert len(last.messages) <= 3
    assert any(r.metadata.get("purpose") == "compaction" for r in model.requests)


async def test_replay_after_a_suspend_repeats_no_llm_call(runtime):
    @tool(approval="always")
    def delete_file(ctx: WorkflowContext, input: City) -> str:
        return f"deleted {input.city}"

    model = ScriptedModel(
        [
            Reply(text="first", tool_calls=[("get_weather", {"city": "A"})]),
            Reply(tool_calls=[("delete_file", {"city": "B"})]),
            "done",
        ]
    )
    agent = Agent(id="t_approval", provider=model, model="m", tools=[weather_tool(), delete_file])
    result = await run_agent_to_completion(agent, "go", runtime=runtime, approve=True)
    assert result.result == "done"
    assert model.calls == 3  # the replay after the approval resolved both earlier calls from the log
    assert result.tool_results[-1].result == "deleted B"


async def test_rejected_approval_returns_feedback_to_the_model(runtime):
    @tool(approval="always")
    def drop_table(ctx: WorkflowContext) -> str:
        return "dropped"

    model = ScriptedModel([Reply(tool_calls=[("drop_table", {})]), "ok, not dropping"])
    agent = Agent(id="t_reject", provider=model, model="m", tools=[drop_table])
    handle = await agent.invoke(runtime.client, {"input": "drop it"})
    await runtime.run_until_idle()
    suspends = [e for e in runtime.store.list_events(handle.topic) if (e.event_type or "").startswith("suspend_")]
    [suspend] = suspends
    form = suspend.data["_form"]
    assert suspend.data["_source"] == "tool_approval" and suspend.data["_tool"] == "drop_table"
    assert [f["key"] for f in form["fields"]] == ["approved", "allow_always", "feedback"]
    key = suspend.event_type[len("suspend_") :]
    await runtime.client.resume(
        handle.root_workflow_id, handle.id, key, {"approved": False, "feedback": "never in prod"}
    )
    result = agent.coerce_result(await runtime.client.wait_for_result(handle.id))
    [part] = last_tool_results(model)
    assert part.is_error and "rejected" in part.content and "never in prod" in part.content
    assert result.result == "ok, not dropping"


async def test_allow_always_skips_later_approvals_in_the_run(runtime):
    ran: list[int] = []

    @tool(approval="always")
    def send(ctx: WorkflowContext) -> str:
        ran.append(1)
        return "sent"

    model = ScriptedModel([Reply(tool_calls=[("send", {})]), Reply(tool_calls=[("send", {})]), "done"])
    agent = Agent(id="t_always", provider=model, model="m", tools=[send])
    asked: list[str] = []

    def answer(key, data):
        asked.append(key)
        return {"approved": True, "allow_always": True}

    await run_agent_to_completion(agent, "go", runtime=runtime, answers=answer)
    assert len(asked) == 1 and len(ran) == 2


async def test_ask_user_tool_returns_the_answer(runtime):
    from polos import create_ask_user_tool

    ask = create_ask_user_tool()
    model = ScriptedModel([Reply(tool_calls=[("ask_user", {"question": "Which city?"})]), "Got it"])
    agent = Agent(id="t_ask", provider=model, model="m", tools=[ask])
    forms: list[dict] = []

    def answer(key, data):
        forms.append(data)
        return {"response": "Lisbon"}

    await run_agent_to_completion(agent, "plan a trip", runtime=runtime, answers=answer)
    assert forms[0]["_source"] == "ask_user" and forms[0]["_form"]["description"] == "Which city?"
    [part] = last_tool_results(model)
    assert "Lisbon" in part.content


async def test_agents_invoked_from_a_workflow_and_in_parallel(runtime):
    model = ScriptedModel(lambda request: f"answer to {request.messages[-1].text}")
    writer = Agent(id="t_writer", provider=model, model="m")
    critic = Agent(id="t_critic", provider=model, model="m")

    @workflow(id="t_coordinator")
    async def coordinator(ctx: WorkflowContext, payload: dict) -> dict:
        draft = await ctx.step.agent_invoke_and_wait("draft", writer.with_input(payload["topic"]))
        reviews = await ctx.step.batch_agent_invoke_and_wait(
            "reviews", [critic.with_input(f"review {draft.result}"), writer.with_input("title")]
        )
        return {"draft": draft.result, "reviews": [r.result.result for r in reviews]}

    result = await coordinator.run(runtime.client, {"topic": "tea"})
    assert result == {"draft": "answer to tea", "reviews": ["answer to review answer to tea", "answer to title"]}


async def test_bad_definitions_are_clear():
    with pytest.raises(WorkflowDefinitionError, match="tools must be Tool objects"):
        Agent(id="t_bad", provider="anthropic", model="m", tools=[lambda: 1])
    with pytest.raises(WorkflowDefinitionError, match="output_schema must be a pydantic model"):
        Agent(id="t_bad2", provider="anthropic", model="m", output_schema=dict)
    with pytest.raises(WorkflowDefinitionError, match="model must be a non-empty string"):
        Agent(id="t_bad3", provider="anthropic", model="")
    with pytest.raises(WorkflowDefinitionError, match="two parameters"):
        Agent(id="t_bad4", provider="anthropic", model="m", guardrails=[lambda x: x])
    with pytest.raises(WorkflowDefinitionError, match="a tool id must be"):
        tool(id="bad name")(lambda ctx: None)


async def test_unknown_provider_fails_the_run_naming_the_registered_ones(runtime):
    agent = Agent(id="t_unknown_provider", provider="no-such-llm", model="m")
    with pytest.raises(ExecutionFailedError) as info:
        await agent.run(runtime.client, "x")
    assert "Unknown LLM provider 'no-such-llm'" in str(info.value) and "anthropic" in str(info.value)


async def test_missing_api_key_names_the_env_var(runtime, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    agent = Agent(id="t_no_key", provider="anthropic", model="claude-sonnet-4-5")
    with pytest.raises(ExecutionFailedError, match="ANTHROPIC_API_KEY"):
        await agent.run(runtime.client, "x")


async def test_bad_input_is_rejected_at_the_call_site(runtime):
    from polos.exceptions import PayloadValidationError

    agent = Agent(id="t_input", provider=ScriptedModel([]), model="m")
    with pytest.raises(PayloadValidationError, match="system messages are not input"):
        await agent.run(runtime.client, [{"role": "system", "content": "x"}])
    with pytest.raises(PayloadValidationError, match="non-empty string or a non-empty list"):
        await agent.run(runtime.client, 42)


async def test_handoff_passes_the_conversation_to_another_agent(runtime):
    specialist_model = ScriptedModel(["Refunds take 5 days."])
    specialist = Agent(id="t_refunds", provider=specialist_model, model="m", description="Handles refunds")
    triage_model = ScriptedModel(
        [
            Reply(text="Looking.", tool_calls=[("get_weather", {"city": "A"})]),
            Reply(tool_calls=[("transfer_to_t_refunds", {})]),
        ]
    )
    triage = Agent(id="t_triage", provider=triage_model, model="m", tools=[weather_tool()], handoffs=[specialist])
    assert [t.name for t in triage.llm_tools()] == ["get_weather", "transfer_to_t_refunds"]

    result = await triage.run(runtime.client, "I want a refund", session_id="s")

    assert result.result == "Refunds take 5 days."
    [request] = specialist_model.requests
    assert request.messages[0].text == "I want a refund"
    assert "[called tool get_weather" in request.messages[1].text
    assert request.messages[-1].role == "user"
    assert result.tool_results[-1].tool_name == "transfer_to_t_refunds"


async def test_auth_error_fails_at_once_with_the_providers_message(runtime):
    model = ScriptedModel([Reply(error=(401, "invalid x-api-key"))])
    agent = Agent(id="t_auth", provider=model, model="m")
    with pytest.raises(ExecutionFailedError, match="invalid x-api-key"):
        await agent.run(runtime.client, "x")
    assert model.calls == 1
    [row] = [r for r in runtime.store._rows.values() if r.record.workflow_id == "t_auth"]
    failed = row.steps["llm_1"]
    assert failed.status == "failed"  # recorded: a replay fails the same way without calling again


async def test_rate_limit_after_the_providers_retries_retries_the_execution_later(runtime):
    from polos.runtime import RuntimeSettings
    from polos.testing import LocalRuntime

    rt = LocalRuntime(RuntimeSettings(heartbeat_seconds=3600, execution_retry_base_delay=30))
    model = ScriptedModel(
        [Reply(tool_calls=[("get_weather", {"city": "A"})]), Reply(error=(429, "slow down"), retry_after=1), "done"]
    )
    agent = Agent(id="t_rate", provider=model, model="m", tools=[weather_tool()])
    handle = await agent.invoke(rt.client, {"input": "x"})
    await rt.run_until_idle()
    execution = await rt.client.get_execution(handle.id)
    assert execution["status"] == "waiting" and model.calls == 2
    [error] = [e for e in rt.store.list_events(handle.topic) if e.event_type == "llm_error"]
    assert error.data["retryable"] is True and "slow down" in error.data["message"]
    await rt.advance(seconds=60)
    result = agent.coerce_result(await rt.client.wait_for_result(handle.id))
    assert result.result == "done"
    assert model.calls == 3  # the first call was recorded: not made again after the retry


async def test_session_history_skips_rejected_replies_and_unanswered_tool_calls(runtime):
    verdicts = iter([GuardrailResult.fail("too short"), GuardrailResult.continue_with()])
    model = ScriptedModel(["no", "A proper answer.", Reply(tool_calls=[("boom", {})]), "Third answer."])

    @tool
    def boom(ctx: WorkflowContext) -> str:
        return "ok"

    def stop_before_boom(ctx, hook_context):
        return HookResult.fail("not now") if hook_context.current_tool == "boom" else None

    agent = Agent(
        id="t_clean_history",
        provider=model,
        model="m",
        tools=[boom],
        guardrails=[lambda ctx, g: next(verdicts, GuardrailResult.continue_with())],
        on_tool_start=stop_before_boom,
    )
    await agent.run(runtime.client, "first", session_id="s")
    with pytest.raises(ExecutionFailedError, match="not now"):  # fails between the tool call and its result
        await agent.run(runtime.client, "second", session_id="s")
    result = await agent.run(runtime.client, "third", session_id="s")
    assert result.result == "Third answer."
    third = model.requests[-1]
    # The rejected attempt is not history, and the unanswered tool call was dropped (providers reject it).
    assert [m.text for m in third.messages] == ["first", "A proper answer.", "second", "third"]
    assert not any(p.type == "tool_use" for m in third.messages for p in m.content)
