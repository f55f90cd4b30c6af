"""OpenTelemetry spans for workflows, steps, LLM calls and tool calls.

Optional: without the ``[otel]`` extra, or with no tracer provider configured, every helper here is a
no-op that costs one global lookup.  :func:`configure` (or ``POLOS["OTEL"]`` / the standard
``OTEL_EXPORTER_OTLP_*`` variables, through :func:`configure_from_settings`) installs an SDK tracer
provider with an OTLP exporter; a provider the application set up itself is used as it is.

**One trace per execution tree.**  A workflow runs as many short runs (one per claim, between waits),
possibly on different machines, and its children run elsewhere again.  Rather than storing a
``traceparent`` on every row, the trace context is *derived* from ids every process already has:

- the trace id is the root execution's id (a UUID is exactly a 128-bit W3C trace id), so every span
  of a tree shares it and the UI can name a tree's trace without asking a tracing backend;
- invoking a child emits a short ``invoke {workflow}`` span whose span id is derived from the child's
  execution id, and every run of the child continues from that span as its remote parent.

So a child's spans hang under the step that invoked it, across processes, with nothing persisted.
Deterministic ids need the SDK's id generator to take them: Polos wraps the SDK provider's generator
(only for those two spans; every other id stays random).  With a non-SDK provider the trace ids are
random and children start their own traces.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from .exceptions import ConfigurationError

_otel_trace: Any
try:  # OpenTelemetry is optional (the [otel] extra).
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the environment
    _otel_trace = None

logger = logging.getLogger("polos.tracing")
INSTRUMENTATION = "polos"
OTEL_KEYS = frozenset({"enabled", "endpoint", "headers", "service_name", "trace_url", "resource_attributes"})
ENV_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

_forced_trace_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("polos_trace_id", default=None)
_forced_span_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("polos_span_id", default=None)
_cache: dict[str, Any] = {"provider": None, "tracer": None, "override": None}
_trace_url: dict[str, str | None] = {"template": None}
_OFF: AbstractContextManager[None] = nullcontext()
_MISSING = object()
_ENV_PROVIDER = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


# --- ids -------------------------------------------------------------------------------------------


def trace_id_for(root_execution_id: str) -> int:
    """The W3C trace id (128-bit) of an execution tree: its root execution id when that is a UUID."""
    try:
        value = uuid.UUID(root_execution_id).int
    except ValueError:
        value = 0
    if value == 0:
        value = int(hashlib.sha256(root_execution_id.encode()).hexdigest()[:32], 16) or 1
    return value


def trace_id_hex(root_execution_id: str) -> str:
    """:func:`trace_id_for` as the 32 hex digits tracing backends show."""
    return f"{trace_id_for(root_execution_id):032x}"


def invoke_span_id(execution_id: str) -> int:
    """The span id of the ``invoke`` span that started ``execution_id`` (64-bit, never zero)."""
    return int(hashlib.sha256(f"invoke:{execution_id}".encode()).hexdigest()[:16], 16) or 1


def trace_url(root_execution_id: str) -> str | None:
    """A link to the tree's trace in a tracing UI (``POLOS["OTEL"]["trace_url"]``), if configured."""
    template = _trace_url["template"]
    return template.format(trace_id=trace_id_hex(root_execution_id)) if template else None


class _PolosIds:
    """Wraps an SDK id generator: ids set in this context for the next span, random otherwise."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def generate_span_id(self) -> int:
        forced = _forced_span_id.get()
        return forced if forced is not None else int(self.inner.generate_span_id())

    def generate_trace_id(self) -> int:
        forced = _forced_trace_id.get()
        return forced if forced is not None else int(self.inner.generate_trace_id())

    def is_trace_id_random(self) -> bool:
        # A forced trace id (an execution id) is not the random id W3C's "random" flag promises.
        if _forced_trace_id.get() is not None:
            return False
        check = getattr(self.inner, "is_trace_id_random", None)
        return bool(check()) if check is not None else False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _tracer() -> Any | None:
    """Polos's tracer, or ``None`` when no real provider is configured (the cheap path)."""
    if _otel_trace is None:
        return None
    provider = _cache["override"]
    if provider is None:
        # get_tracer_provider() reads os.environ on every call while no provider is set (~1.5 µs);
        # the module global says the same for free (the public call stays the fallback).
        if getattr(_otel_trace, "_TRACER_PROVIDER", _MISSING) is None and not _ENV_PROVIDER:
            return None
        provider = _otel_trace.get_tracer_provider()
    if provider is _cache["provider"]:
        return _cache["tracer"]
    tracer = None
    if not isinstance(provider, _otel_trace.ProxyTracerProvider | _otel_trace.NoOpTracerProvider):
        generator = getattr(provider, "id_generator", None)
        if generator is not None and not isinstance(generator, _PolosIds):
            provider.id_generator = _PolosIds(generator)
        tracer = provider.get_tracer(INSTRUMENTATION)
    _cache.update(provider=provider, tracer=tracer)
    return tracer


def set_tracer_provider(provider: Any | None) -> None:
    """Use ``provider`` for Polos's spans instead of the global one (``None``: the global one again).

    For applications that keep several providers, and for tests (an SDK provider with an in-memory
    exporter, without touching the process-wide provider).
    """
    _cache.update(override=provider, provider=None, tracer=None)


def enabled() -> bool:
    """Whether spans are recorded (a tracer provider is configured)."""
    return _tracer() is not None


# --- spans -----------------------------------------------------------------------------------------


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (attributes or {}).items() if isinstance(v, str | bool | int | float)}


def _start(tracer: Any, name: str, attributes: dict[str, Any], **options: Any) -> Any | None:
    """Start a span; ``None`` (and a warning, once) if the tracer fails: tracing never fails a workflow."""
    try:
        return tracer.start_span(name, attributes=attributes, **options)
    except Exception:
        if not _cache.get("warned"):
            _cache["warned"] = True
            logger.warning("could not start a span; tracing goes on without it", exc_info=True)
        return None


@contextmanager
def _run_span(tracer: Any, name: str, attributes: dict[str, Any], **options: Any) -> Iterator[Any]:
    current = _start(tracer, name, attributes, **options)
    if current is None:
        yield None
        return
    try:
        with _otel_trace.use_span(current, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            yield current
    except Exception as exc:
        current.record_exception(exc)
        current.set_status(_otel_trace.Status(_otel_trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    except BaseException as exc:
        # Control flow, not failure: a workflow that waits (WorkflowSuspended), was cancelled or
        # lost its lease ends this run's span normally, saying why.
        current.set_attribute("polos.outcome", type(exc).__name__)
        raise
    finally:
        current.end()


def span(name: str, attributes: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A span named ``name`` under the current one; yields it, or ``None`` when tracing is off.

    Exceptions are recorded on the span and mark it as failed; control-flow signals (a workflow
    suspending) end it normally with a ``polos.outcome`` attribute.
    """
    tracer = _tracer()
    if tracer is None:
        return _OFF  # no generator, no allocation: tracing off costs one lookup
    return _run_span(tracer, name, _clean(attributes))


def workflow_span(execution: Any, attributes: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """The span of one run of an execution, in its tree's trace (see the module docstring).

    ``execution`` is an :class:`polos.store.ExecutionRecord` (or anything with its id fields).
    """
    tracer = _tracer()
    if tracer is None:
        return _OFF
    return _workflow_span(tracer, execution, attributes)


@contextmanager
def _workflow_span(tracer: Any, execution: Any, attributes: Mapping[str, Any] | None) -> Iterator[Any]:
    api = _otel_trace
    root = execution.root_execution_id or execution.id
    trace_id = trace_id_for(root)
    kind = getattr(execution, "workflow_type", "workflow") or "workflow"
    attrs = {
        "polos.workflow.id": execution.workflow_id,
        "polos.workflow.type": kind,
        "polos.execution.id": execution.id,
        "polos.root_execution.id": root,
        "polos.attempt": getattr(execution, "attempt", 0),
        **_clean(attributes),
    }
    if execution.parent_execution_id:
        attrs["polos.parent_execution.id"] = execution.parent_execution_id
        remote = api.SpanContext(
            trace_id, invoke_span_id(execution.id), is_remote=True, trace_flags=api.TraceFlags(api.TraceFlags.SAMPLED)
        )
        parent = api.set_span_in_context(api.NonRecordingSpan(remote))
        options: dict[str, Any] = {"context": parent}
    else:
        # A new trace, whatever span the worker process has open (a Celery task's, say): linked to it.
        outer = api.get_current_span().get_span_context()
        options = {"context": api.set_span_in_context(api.INVALID_SPAN), "links": []}
        if outer.is_valid:
            options["links"] = [api.Link(outer)]
    token: contextvars.Token[int | None] | None = _forced_trace_id.set(trace_id)
    try:
        with _run_span(tracer, f"{kind} {execution.workflow_id}", attrs, **options) as current:
            assert token is not None
            _forced_trace_id.reset(token)  # only this span's trace id is forced
            token = None
            yield current
    finally:
        if token is not None:
            _forced_trace_id.reset(token)


def invoked(child_execution_id: str, workflow_id: str, step_key: str | None = None) -> None:
    """Record that the current run invoked a child: the span every run of the child continues from."""
    tracer = _tracer()
    if tracer is None:
        return
    attrs = {"polos.workflow.id": workflow_id, "polos.execution.id": child_execution_id}
    if step_key is not None:
        attrs["polos.step.key"] = step_key
    token = _forced_span_id.set(invoke_span_id(child_execution_id))
    try:
        current = _start(tracer, f"invoke {workflow_id}", attrs)
        if current is not None:
            current.end()
    finally:
        _forced_span_id.reset(token)


# --- configuration ---------------------------------------------------------------------------------


def configure(
    *,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    service_name: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    exporter: Any = None,
    simple: bool = False,
) -> Any:
    """Export Polos's spans: install (or extend) the global SDK tracer provider; returns it.

    Args:
        endpoint: OTLP/HTTP traces endpoint (default: the ``OTEL_EXPORTER_OTLP_*`` variables, then
            ``http://localhost:4318/v1/traces``).
        headers: OTLP request headers (e.g. an API key of the tracing backend; never logged).
        service_name: the ``service.name`` resource attribute (default ``$OTEL_SERVICE_NAME`` or ``polos``).
        resource_attributes: more resource attributes.
        exporter: a span exporter to use instead of OTLP (tests pass an in-memory exporter).
        simple: export each span when it ends instead of in batches (tests).

    Raises:
        ConfigurationError: the OpenTelemetry SDK (or the OTLP exporter) is not installed.
    """
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise ConfigurationError("tracing needs the OpenTelemetry SDK: pip install 'polos-django[otel]'") from None
    if exporter is None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigurationError(
                "exporting traces needs the OTLP exporter: pip install 'polos-django[otel]'"
            ) from None
        exporter = OTLPSpanExporter(endpoint=endpoint, headers=dict(headers) if headers else None)
    processor = SimpleSpanProcessor(exporter) if simple else BatchSpanProcessor(exporter)
    provider = _otel_trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "polos"
        resource = Resource.create({"service.name": name, **dict(resource_attributes or {})})
        provider = TracerProvider(resource=resource)
        _otel_trace.set_tracer_provider(provider)
        provider = _otel_trace.get_tracer_provider()  # the one that won, if another thread set one
    provider.add_span_processor(processor)
    _tracer()
    return provider


def configure_from_settings(otel: Any, environ: Mapping[str, str] | None = None) -> bool:
    """Configure tracing from ``POLOS["OTEL"]``; returns whether spans are exported.

    ``None`` (the default) exports when an ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variable is set (and ``OTEL_SDK_DISABLED`` is not
    ``true``); ``False`` never; ``True`` always; a dict always, with the keys ``endpoint``,
    ``headers``, ``service_name``, ``resource_attributes``, ``trace_url`` (a link template with
    ``{trace_id}`` for the UI) and ``enabled``.
    """
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    if isinstance(otel, Mapping):
        unknown = set(otel) - OTEL_KEYS
        if unknown:
            raise ConfigurationError(
                f"unknown POLOS['OTEL'] key(s) {sorted(unknown)}; the known ones are {sorted(OTEL_KEYS)}"
            )
        options = dict(otel)
        _trace_url["template"] = options.pop("trace_url", None)
        wanted = bool(options.pop("enabled", True))
    elif otel is None:
        wanted = any(env.get(name) for name in ENV_ENDPOINTS)
    elif isinstance(otel, bool):
        wanted = otel
    else:
        raise ConfigurationError(f"POLOS['OTEL'] must be None, True, False or a dict, not {type(otel).__name__}")
    if not wanted or env.get("OTEL_SDK_DISABLED", "").lower() == "true" or _otel_trace is None:
        if wanted and _otel_trace is None:
            raise ConfigurationError(
                "tracing is configured but OpenTelemetry is not installed: pip install 'polos-django[otel]'"
            )
        return False
    configure(**options)
    return True


__all__ = [
    "configure",
    "configure_from_settings",
    "enabled",
    "invoke_span_id",
    "invoked",
    "set_tracer_provider",
    "span",
    "trace_id_for",
    "trace_id_hex",
    "trace_url",
    "workflow_span",
]
