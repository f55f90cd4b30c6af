"""Spans around workflows and steps: OpenTelemetry when it is installed, otherwise nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_otel_trace: Any
try:  # OpenTelemetry is optional (the [otel] extra).
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the environment
    _otel_trace = None


@contextmanager
def span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[Any]:
    """Open a span named ``name``; yields the OpenTelemetry span, or ``None`` without OpenTelemetry."""
    if _otel_trace is None:
        yield None
        return
    tracer = _otel_trace.get_tracer("polos")
    clean = {k: v for k, v in (attributes or {}).items() if isinstance(v, str | bool | int | float)}
    with tracer.start_as_current_span(name, attributes=clean) as current:
        yield current
