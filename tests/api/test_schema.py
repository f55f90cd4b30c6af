"""Property-based run of the OpenAPI schema (schemathesis): no request makes the server fail (5xx),
and every answer matches the documented status codes and response schemas.

Bounded: at most ``MAX_EXAMPLES`` generated requests per operation against the live daphne server.
The SSE streams are left out: a stream that follows a topic never ends by itself.  (Schemathesis'
own pytest plugin does not run under pytest 9, so the operations are driven with hypothesis here.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance  # noqa: E402

from tests.api.conftest import LiveServer, Tenant  # noqa: E402

MAX_EXAMPLES = 50

pytestmark = pytest.mark.timeout(180)


def _property(
    operation: Any, label: str, base_url: str, headers: dict[str, str], counts: dict[str, int], failures: list[str]
) -> Any:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        counts[label] += 1
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
            )
            content_type = response.headers.get("content-type") or [""]
            assert str(content_type[0] if isinstance(content_type, list) else content_type).startswith(
                "application/json"
            )
            if response.status_code >= 400:
                assert isinstance(response.json().get("code"), str)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{label} -> {response.status_code} {response.text[:300]} ({exc})")
            raise

    return run


def test_no_server_errors(live_api: LiveServer, tenant: Tenant) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/api/v1/schema/?format=json")
    headers = {"Authorization": f"Bearer {tenant.key}", "X-Project-ID": tenant.project_id}
    failures: list[str] = []
    counts: dict[str, int] = {}
    started = time.monotonic()
    for result in schema.exclude(path_regex=r"/stream$").get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        counts[label] = 0

        run = _property(operation, label, live_api.url, headers, counts, failures)
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # recorded above; carry on with the next operation
            if not failures or label not in failures[-1]:
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    print(f"schemathesis: {sum(counts.values())} requests over {len(counts)} operations in {elapsed:.1f} s")
    assert len(counts) >= 11
    assert failures == []
    assert elapsed < 60
