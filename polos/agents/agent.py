"""``Agent``: a durable LLM tool loop, registered as a workflow (``workflow_type="agent"``).

::

    weather_agent = Agent(id="weather", provider="anthropic", model="claude-sonnet-4-5",
                          system_prompt="You answer weather questions.", tools=[get_weather])
    result = await weather_agent.run(client, "What's the weather in Paris?")

Every LLM call and every tool call of a run is a durable step: a run that crashes at step 18 of 20
resumes at step 18, and no LLM call that was recorded is made again.  The loop itself lives in
:mod:`polos.agents.loop`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..context import AgentContext
from ..exceptions import ConfigurationError, WorkflowDefinitionError
from ..llm.provider import LLMProvider, get_provider
from ..memory.types import CompactionConfig
from ..queues import Queue
from ..tools.tool import Tool
from ..types import AgentConfig, AgentResult, ExecutionHandle
from ..workflow import Workflow, get_workflow, register
from .hooks import normalize_guardrails, normalize_hooks

if TYPE_CHECKING:
    from ..client import ClientLike
    from .stream import StreamResult


class AgentRunConfig:
    """One prepared agent run, from :meth:`Agent.with_input`, for ``ctx.step.agent_invoke*`` and batches."""

    def __init__(
        self,
        agent: Agent,
        input: str | list[Any],
        session_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        streaming: bool = False,
        initial_state: BaseModel | dict[str, Any] | None = None,
        run_timeout_seconds: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.agent = agent
        self.input = input
        self.session_id = session_id
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.streaming = streaming
        self.initial_state = initial_state
        self.run_timeout_seconds = run_timeout_seconds
        self.kwargs = kwargs

    def payload(self) -> dict[str, Any]:
        """The agent payload this run is invoked with."""
        return self.agent.build_payload(
            self.input,
            streaming=self.streaming,
            session_id=self.session_id,
            conversation_id=self.conversation_id,
            user_id=self.user_id,
            **self.kwargs,
        )

    def __repr__(self) -> str:
        return f"<AgentRunConfig {self.agent.id!r}>"


class Agent(Workflow):
    """An LLM agent: a workflow whose LLM and tool calls are durable steps.

    Args:
        id: the agent's id (workflow id).
        provider: ``"anthropic"``, ``"openai"``, any registered provider name, or an
            :class:`~polos.llm.LLMProvider` instance (e.g. ``polos.testing.ScriptedModel``).
        model: the provider's model name.
        description: what the agent does (shown to coordinators and in the UI).
        system_prompt: the system prompt.
        tools: :class:`~polos.Tool` objects the model may call.
        temperature / max_output_tokens: sampling settings.
        provider_base_url: the API base URL (any OpenAI-compatible server works with ``"openai"``).
        provider_llm_api: ``"responses"`` (default) or ``"chat"`` for OpenAI.
        queue: the queue its runs go to.
        stop_conditions: callables from :mod:`polos.agents.stop_conditions` (or your own).
        output_schema: a pydantic model the final answer must match (structured output).
        on_start / on_end / on_agent_step_start / on_agent_step_end / on_tool_start / on_tool_end:
            lifecycle hooks ``(ctx, HookContext) -> HookResult``.
        guardrails: functions ``(ctx, GuardrailContext) -> GuardrailResult`` or plain-language rules.
        guardrail_max_retries: how often the model may retry after a guardrail rejected its reply.
        compaction: how session history is compacted (:class:`~polos.memory.types.CompactionConfig`).
        stream_to_workflow: stream text deltas even when the run was not started with ``streaming``.
        thinking: extended-thinking settings passed to the provider, e.g. ``{"budget_tokens": 2048}``.
        cache: add prompt-caching markers (system prompt, tools, conversation prefix).
        max_history_messages: session messages sent to the model at most (older ones are dropped
            unless compaction summarized them).
        handoffs: agents this one may hand the conversation over to; the model sees a tool
            ``transfer_to_<agent id>`` for each, and the chosen agent's answer ends the run.
    """

    workflow_type = "agent"
    context_class = AgentContext

    def __init__(
        self,
        id: str,
        provider: str | LLMProvider,
        model: str,
        description: str | None = None,
        system_prompt: str | None = None,
        tools: list[Tool] | None = None,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        provider_base_url: str | None = None,
        provider_llm_api: str | None = None,
        queue: str | Queue | dict[str, Any] | None = None,
        stop_conditions: list[Callable[..., Any]] | None = None,
        output_schema: type[BaseModel] | None = None,
        on_start: Any = None,
        on_end: Any = None,
        on_agent_step_start: Any = None,
        on_agent_step_end: Any = None,
        on_tool_start: Any = None,
        on_tool_end: Any = None,
        guardrails: Any = None,
        guardrail_max_retries: int = 2,
        compaction: CompactionConfig | None = None,
        stream_to_workflow: bool = False,
        thinking: dict[str, Any] | None = None,
        cache: bool = True,
        max_history_messages: int | None = None,
        handoffs: list[Agent] | None = None,
    ) -> None:
        if not isinstance(provider, str | LLMProvider) or (isinstance(provider, str) and not provider):
            raise WorkflowDefinitionError(
                f"agent {id!r}: provider must be a provider name ('anthropic', 'openai', ...) or an LLMProvider, "
                f"got {provider!r}"
            )
        if not isinstance(model, str) or not model:
            raise WorkflowDefinitionError(f"agent {id!r}: model must be a non-empty string")
        super().__init__(self._entry, id=id, description=description or "", queue=queue)
        self.provider = provider
        self.model = model
        self.system_prompt = system_prompt
        self.tools: list[Tool] = _check_tools(tools, id)
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.provider_base_url = provider_base_url
        self.provider_llm_api = provider_llm_api
        self.stop_conditions = list(stop_conditions or [])
        for condition in self.stop_conditions:
            if not callable(condition):
                raise WorkflowDefinitionError(
                    f"agent {id!r}: stop conditions must be callables (e.g. max_steps(count=5)), got {condition!r}"
                )
        if output_schema is not None and not (isinstance(output_schema, type) and issubclass(output_schema, BaseModel)):
            raise WorkflowDefinitionError(f"agent {id!r}: output_schema must be a pydantic model class")
        self.output_schema = output_schema
        self._output_json: dict[str, Any] | None = None
        self.agent_on_start = normalize_hooks(on_start, "on_start", id)
        self.agent_on_end = normalize_hooks(on_end, "on_end", id)
        self.on_agent_step_start = normalize_hooks(on_agent_step_start, "on_agent_step_start", id)
        self.on_agent_step_end = normalize_hooks(on_agent_step_end, "on_agent_step_end", id)
        self.on_tool_start = normalize_hooks(on_tool_start, "on_tool_start", id)
        self.on_tool_end = normalize_hooks(on_tool_end, "on_tool_end", id)
        self.guardrails = normalize_guardrails(guardrails, id)
        if not isinstance(guardrail_max_retries, int) or guardrail_max_retries < 0:
            raise WorkflowDefinitionError(f"agent {id!r}: guardrail_max_retries must be a whole number >= 0")
        self.guardrail_max_retries = guardrail_max_retries
        if compaction is not None and not isinstance(compaction, CompactionConfig):
            raise WorkflowDefinitionError(f"agent {id!r}: compaction must be a CompactionConfig")
        self.compaction = compaction
        self.stream_to_workflow = stream_to_workflow
        self.thinking = thinking
        self.cache = cache
        self.max_history_messages = max_history_messages
        self.handoffs: list[Agent] = list(handoffs or [])
        for target in self.handoffs:
            if not isinstance(target, Agent):
                raise WorkflowDefinitionError(f"agent {id!r}: handoffs must be Agent objects, got {target!r}")
            if self.tool_named(handoff_tool_name(target)) is not None:
                raise WorkflowDefinitionError(f"agent {id!r}: a tool is already named {handoff_tool_name(target)!r}")
        self._provider_instance: LLMProvider | None = provider if isinstance(provider, LLMProvider) else None
        register(self)

    # --- configuration -------------------------------------------------------------------------

    @property
    def provider_name(self) -> str:
        """The provider's name (``"anthropic"``, ``"openai"``, or an instance's ``name``)."""
        return self.provider if isinstance(self.provider, str) else self.provider.name

    def llm(self) -> LLMProvider:
        """The provider instance (created on first use, so no API key is needed to define an agent)."""
        if self._provider_instance is None:
            assert isinstance(self.provider, str)
            self._provider_instance = get_provider(
                self.provider, base_url=self.provider_base_url, llm_api=self.provider_llm_api
            )
        return self._provider_instance

    def output_json_schema(self) -> dict[str, Any] | None:
        """The JSON schema of ``output_schema`` (computed once)."""
        if self.output_schema is None:
            return None
        if self._output_json is None:
            self._output_json = self.output_schema.model_json_schema()
        return self._output_json

    def llm_tools(self) -> list[Any]:
        """The tool specs the model is offered (tools, then one transfer tool per handoff)."""
        from .llm_step import tool_specs

        return tool_specs(self)

    def handoff_named(self, name: str) -> Agent | None:
        """The handoff target whose transfer tool is called ``name``, if any."""
        for target in self.handoffs:
            if handoff_tool_name(target) == name:
                return target
        return None

    def tool_named(self, name: str) -> Tool | None:
        """The agent's tool called ``name``, if any."""
        for candidate in self.tools:
            if candidate.id == name:
                return candidate
        return None

    def agent_config(self) -> AgentConfig:
        """The LLM configuration as Polos' :class:`~polos.AgentConfig` (for hooks and guardrails)."""
        schema = self.output_schema
        return AgentConfig(
            name=self.id,
            provider=self.provider_name,
            model=self.model,
            tools=[t.to_llm_tool_definition() for t in self.tools],
            system_prompt=self.system_prompt,
            max_output_tokens=self.max_output_tokens,
            temperature=self.temperature,
            provider_base_url=self.provider_base_url,
            provider_llm_api=self.provider_llm_api,
            output_schema=schema.model_json_schema() if schema is not None else None,
            output_schema_name=schema.__name__ if schema is not None else None,
            guardrail_max_retries=self.guardrail_max_retries,
        )

    # --- payloads ------------------------------------------------------------------------------

    def build_payload(
        self,
        input: str | list[Any],
        *,
        streaming: bool = False,
        session_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        **provider_kwargs: Any,
    ) -> dict[str, Any]:
        """The payload of one run: ``{"input", "streaming", ...}`` (the input is checked here)."""
        from .conversation import input_messages

        input_messages(input, self.id)  # fail at the call site, not in the worker
        payload: dict[str, Any] = {"input": _jsonable(input), "streaming": bool(streaming)}
        if session_id is not None:
            payload["session_id"] = session_id
        if conversation_id is not None:
            payload["conversation_id"] = conversation_id
        if user_id is not None:
            payload["user_id"] = user_id
        if provider_kwargs:
            payload["provider_kwargs"] = provider_kwargs
        return payload

    def prepare_payload(self, payload: Any) -> Any:
        from .conversation import input_messages

        if isinstance(payload, str | list):
            payload = {"input": payload}
        if not isinstance(payload, dict) or "input" not in payload:
            raise ConfigurationError(
                f"agent {self.id!r} takes a payload {{'input': str | messages, 'streaming': bool}}, got {payload!r}"
            )
        input_messages(payload["input"], self.id)
        return {**payload, "input": _jsonable(payload["input"])}

    def with_input(
        self,
        input: str | list[Any],
        initial_state: BaseModel | dict[str, Any] | None = None,
        session_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        streaming: bool = False,
        run_timeout_seconds: int | None = None,
        **kwargs: Any,
    ) -> AgentRunConfig:
        """Prepare a run for ``ctx.step.agent_invoke[_and_wait]`` and ``batch_agent_invoke[_and_wait]``."""
        return AgentRunConfig(
            self,
            input,
            session_id=session_id,
            conversation_id=conversation_id,
            user_id=user_id,
            streaming=streaming,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
            **kwargs,
        )

    # --- running from outside a workflow -------------------------------------------------------

    async def run(  # type: ignore[override]
        self,
        client: ClientLike,
        input: str | list[Any],
        initial_state: BaseModel | dict[str, Any] | None = None,
        session_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        timeout: float | None = 600.0,
        run_timeout_seconds: int | None = None,
        **kwargs: Any,
    ) -> AgentResult:
        """Run the agent on ``input`` and wait for its :class:`~polos.types.AgentResult`.

        ``timeout`` bounds the wait only (the run goes on); a failed run raises ``ExecutionFailedError``.
        """
        handle = await self._start(
            client, input, False, initial_state, session_id, conversation_id, user_id, run_timeout_seconds, kwargs
        )
        return self.coerce_result(await client.wait_for_result(handle.id, timeout=timeout))

    async def stream(
        self,
        client: ClientLike,
        input: str | list[Any],
        initial_state: BaseModel | dict[str, Any] | None = None,
        session_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        run_timeout_seconds: int | None = None,
        **kwargs: Any,
    ) -> StreamResult:
        """Start a streaming run; iterate ``.text_chunks`` or ``.events``, or await ``.text()`` / ``.result()``."""
        from .stream import StreamResult

        handle = await self._start(
            client, input, True, initial_state, session_id, conversation_id, user_id, run_timeout_seconds, kwargs
        )
        return StreamResult(handle, client, agent=self)

    async def _start(
        self,
        client: ClientLike,
        input: str | list[Any],
        streaming: bool,
        initial_state: Any,
        session_id: str | None,
        conversation_id: str | None,
        user_id: str | None,
        run_timeout_seconds: int | None,
        provider_kwargs: dict[str, Any],
    ) -> ExecutionHandle:
        payload = self.build_payload(
            input,
            streaming=streaming,
            session_id=session_id,
            conversation_id=conversation_id,
            user_id=user_id,
            **provider_kwargs,
        )
        return await self.invoke(
            client,
            payload,
            session_id=session_id,
            user_id=user_id,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
        )

    def coerce_result(self, value: Any) -> AgentResult:
        """A stored or received result as :class:`AgentResult` (structured output rebuilt into its model)."""
        result = value if isinstance(value, AgentResult) else AgentResult.model_validate(value)
        schema = self.output_schema
        if schema is not None and isinstance(result.result, dict):
            with contextlib.suppress(ValueError):  # a failed rebuild leaves the dict: still usable
                result.result = schema.model_validate(result.result)
        return result

    # --- the workflow function -----------------------------------------------------------------

    async def _entry(self, ctx: AgentContext, payload: Any) -> AgentResult:
        from .loop import run_agent

        return await run_agent(self, ctx, payload)

    def __repr__(self) -> str:
        return f"<Agent {self.id!r} {self.provider_name}:{self.model}>"


def handoff_tool_name(agent: Agent) -> str:
    """The name of the tool that hands a conversation over to ``agent``."""
    return f"transfer_to_{agent.id}"[:64]


def _check_tools(tools: Any, agent_id: str) -> list[Tool]:
    if tools is None:
        return []
    if isinstance(tools, Tool):
        tools = [tools]
    result: list[Tool] = []
    seen: set[str] = set()
    for item in tools:
        if not isinstance(item, Tool):
            raise WorkflowDefinitionError(
                f"agent {agent_id!r}: tools must be Tool objects (decorate functions with @tool), got {item!r}"
            )
        if item.id in seen:
            raise WorkflowDefinitionError(f"agent {agent_id!r}: two tools are named {item.id!r}")
        seen.add(item.id)
        result.append(item)
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_dump(mode="json", exclude_none=True) if isinstance(v, BaseModel) else v for v in value]
    return value


def get_agent(agent_id: str) -> Agent | None:
    """The registered agent with this id, or ``None``."""
    found = get_workflow(agent_id)
    return found if isinstance(found, Agent) else None


def __getattr__(name: str) -> Any:
    # Polos' import path ``polos.agents.agent.StreamResult`` / ``AgentStreamHandle``.
    if name in ("StreamResult", "AgentStreamHandle"):
        from . import stream

        return getattr(stream, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Agent", "AgentRunConfig", "get_agent"]
