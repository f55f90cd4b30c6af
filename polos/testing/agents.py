"""Run an agent to completion in a unit test (in memory, no server)::

    model = ScriptedModel([Reply(tool_calls=[("get_weather", {"city": "Paris"})]), "Sunny."])
    agent = Agent(id="weather", provider=model, model="test", tools=[get_weather])
    result = await run_agent_to_completion(agent, "Weather in Paris?", approve=True)
    assert result.result == "Sunny."

Suspends on the way (tool approvals, ask-user questions) are answered by ``approve`` / ``answers``
so the run can finish without a human.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..types import AgentResult
from .local import LocalRuntime

Answer = dict[str, Any] | Callable[[str, dict[str, Any]], dict[str, Any]]


async def run_agent_to_completion(
    agent: Any,
    input: str | list[Any],
    *,
    runtime: LocalRuntime | None = None,
    approve: bool | None = None,
    answers: Answer | None = None,
    session_id: str | None = None,
    max_suspends: int = 100,
    timeout: float = 60.0,
) -> AgentResult:
    """Run ``agent`` on ``input`` in a :class:`LocalRuntime` until it finishes, answering suspends.

    Args:
        agent: the :class:`~polos.Agent`.
        input: the run's input.
        runtime: the runtime to use (a new one by default).
        approve: answer every approval suspend with ``{"approved": approve}``.
        answers: the resume data for other suspends (ask-user forms): a dict, or a function of the
            step key and the suspend data.
        session_id: the run's session.
        max_suspends: fail after answering this many suspends (a loop that never ends).
        timeout: seconds to wait for the run.

    Raises:
        AssertionError: a suspend came that neither ``approve`` nor ``answers`` covers.
    """
    runtime = runtime or LocalRuntime()
    handle = await agent.invoke(
        runtime.client, agent.build_payload(input, session_id=session_id), session_id=session_id
    )
    store = runtime.store
    answered = 0
    cursor = 0
    while True:
        await runtime.run_until_idle()
        record = store.get_execution(handle.id)
        if record is not None and record.status in ("completed", "failed", "cancelled"):
            break
        events = store.list_events(handle.topic, after=cursor)
        if events:
            cursor = events[-1].sequence_id
        resumed = 0
        for event in events:
            event_type = event.event_type or ""
            if not event_type.startswith("suspend_"):
                continue
            key = event_type[len("suspend_") :]
            data = event.data if isinstance(event.data, dict) else {}
            source = data.get("_source")
            if source in ("tool_approval", "exec_security", "path_approval") and approve is not None:
                resume: dict[str, Any] = {"approved": approve}
            elif answers is not None:
                resume = answers(key, data) if callable(answers) else dict(answers)
            else:
                raise AssertionError(f"the agent suspended at {key!r} ({source}); pass approve= or answers=")
            answered += 1
            if answered > max_suspends:
                raise AssertionError(f"the agent suspended more than {max_suspends} times")
            await runtime.client.resume(handle.root_workflow_id or handle.workflow_id, handle.id, key, resume)
            resumed += 1
        if not resumed:
            raise AssertionError(
                f"agent run {handle.id} is {record.status if record else 'missing'} and waits for something other "
                "than a suspend (a timer or an event): drive the runtime yourself"
            )
    result: AgentResult = agent.coerce_result(await runtime.client.wait_for_result(handle.id, timeout=timeout))
    return result


__all__ = ["run_agent_to_completion"]
