"""OpenTelemetry: one trace per execution tree, children under the step that invoked them, OTLP export."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from polos import WorkflowContext, tracing, workflow
from polos.exceptions import ConfigurationError
from polos.testing import LocalRuntime
from tests.conftest import wait_until


@workflow(id="trace_child")
async def trace_child(ctx: WorkflowContext, payload: dict) -> int:
    return await ctx.step.run("work", lambda: payload["n"] * 2)


@workflow(id="trace_parent")
async def trace_parent(ctx: WorkflowContext, payload: dict) -> int:
    n = await ctx.step.run("prepare", lambda: payload["n"] + 1)
    return await ctx.step.invoke_and_wait("spawn", trace_child, {"n": n})


def _boom() -> None:
    raise ValueError("no <b>luck</b>")


@workflow(id="trace_failing")
async def trace_failing(ctx: WorkflowContext) -> None:
    await ctx.step.run("explode", _boom, max_retries=0)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.set_tracer_provider(provider)
    yield exporter
    tracing.set_tracer_provider(None)


def by_name(found: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in found if s.name == name]


@pytest.mark.once
async def test_a_tree_is_one_trace_and_children_hang_under_their_invoke_span(spans: InMemorySpanExporter) -> None:
    runtime = LocalRuntime()
    handle = await runtime.client.invoke("trace_parent", {"n": 1})
    assert await runtime.client.wait_for_result(handle.id, timeout=10) == 4
    found = spans.get_finished_spans()
    assert {s.context.trace_id for s in found} == {uuid.UUID(handle.id).int}
    parent_runs = by_name(found, "workflow trace_parent")
    assert len(parent_runs) == 2 and all(s.parent is None for s in parent_runs)
    assert parent_runs[0].attributes["polos.outcome"] == "WorkflowSuspended"  # waited for the child: not an error
    assert parent_runs[0].status.status_code is not StatusCode.ERROR
    [invoke] = by_name(found, "invoke trace_child")
    [child_run] = by_name(found, "workflow trace_child")
    child_id = child_run.attributes["polos.execution.id"]
    assert invoke.parent.span_id == parent_runs[0].context.span_id
    assert invoke.context.span_id == tracing.invoke_span_id(child_id)
    assert child_run.parent.span_id == invoke.context.span_id and child_run.parent.is_remote
    assert child_run.attributes["polos.parent_execution.id"] == handle.id
    [work] = by_name(found, "step.work")
    assert work.parent.span_id == child_run.context.span_id
    assert tracing.trace_id_hex(handle.id) == handle.id.replace("-", "")


@pytest.mark.once
async def test_failures_are_recorded_on_the_spans(spans: InMemorySpanExporter) -> None:
    runtime = LocalRuntime()
    handle = await runtime.client.invoke("trace_failing", None)
    await runtime.wait_finished(handle.id, timeout=10)
    found = spans.get_finished_spans()
    [step] = by_name(found, "step.explode")
    assert step.status.status_code is StatusCode.ERROR
    assert step.events[0].name == "exception"
    [run] = by_name(found, "workflow trace_failing")
    assert run.status.status_code is StatusCode.ERROR


@pytest.mark.once
async def test_without_a_provider_nothing_is_recorded() -> None:
    assert not tracing.enabled()
    with tracing.span("anything", {"a": 1}) as current:
        assert current is None
    runtime = LocalRuntime()
    handle = await runtime.client.invoke("trace_parent", {"n": 2})
    assert await runtime.client.wait_for_result(handle.id, timeout=10) == 6


@pytest.mark.once
def test_settings_are_checked() -> None:
    assert tracing.configure_from_settings(None, environ={}) is False
    assert tracing.configure_from_settings(False, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) is False
    assert tracing.configure_from_settings({"enabled": False, "trace_url": "http://jaeger/t/{trace_id}"}) is False
    assert tracing.trace_url("00000000-0000-0000-0000-00000000000a") == "http://jaeger/t/" + "0" * 31 + "a"
    with pytest.raises(ConfigurationError, match="unknown POLOS\\['OTEL'\\] key"):
        tracing.configure_from_settings({"endpiont": "http://x"})
    with pytest.raises(ConfigurationError, match="must be None, True, False or a dict"):
        tracing.configure_from_settings("yes")
    tracing.configure_from_settings({"enabled": False})  # trace_url back to unset
    assert tracing.trace_url("x") is None


class _Collector(http.server.ThreadingHTTPServer):
    """A stub OTLP/HTTP collector: keeps every exported span."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _CollectorHandler)

    def names(self) -> list[str]:
        with self.lock:
            return sorted(item.name for item in self.spans)


class _CollectorHandler(http.server.BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        with self.server.lock:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.server.spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.worker
@pytest.mark.timeout(120)
def test_a_worker_exports_the_tree_over_otlp(start_workers: Any) -> None:
    from polos_django import client as local

    collector = _Collector()
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_SERVICE_NAME": "polos-test-worker",
            "POLOS_TEST_EXTRA_WORKFLOW_MODULES": "tests.ui.otel_workflows",
        }
        from tests.ui.otel_workflows import OTEL_QUEUE  # registers them here too: invoke routes to their queue

        [worker] = start_workers(1, extra_env=env, queues=OTEL_QUEUE)  # the shared worker does not trace
        handle = local.invoke("ui_trace_parent", {"n": 4})
        assert local.wait_for_result(handle.id, timeout=60) == 10

        def exported() -> dict[str, list[Any]]:
            with collector.lock:
                names: dict[str, list[Any]] = {}
                for item in collector.spans:
                    names.setdefault(item.name, []).append(item)
            wanted = ("workflow ui_trace_parent", "workflow ui_trace_child", "invoke ui_trace_child")
            complete = all(name in names for name in wanted) and len(names["workflow ui_trace_parent"]) >= 2
            return names if complete else {}

        try:
            names = wait_until(exported, 30, 0.05, "the worker's spans at the collector")
        except BaseException:
            print("spans received:", collector.names(), "\nworker log:", worker.log_tail())
            raise
        trace_id = uuid.UUID(handle.id).bytes
        assert {item.trace_id for group in names.values() for item in group} == {trace_id}
        [invoke] = names["invoke ui_trace_child"]
        [child] = names["workflow ui_trace_child"]
        assert child.parent_span_id == invoke.span_id
        assert invoke.parent_span_id in {run.span_id for run in names["workflow ui_trace_parent"]}
    finally:
        collector.shutdown()
        collector.server_close()
        time.sleep(0)
