"""The ASGI split: the API skips Django's middleware chain, everything else keeps it."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from polos_django.asgi import api_application, route_api


def _scope(path: str) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip


async def _get(app, path: str) -> tuple[int, dict[bytes, bytes]]:
    communicator = ApplicationCommunicator(app, _scope(path))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    await communicator.receive_output(5)
    await communicator.wait(5)
    return start["status"], dict(start["headers"])


@pytest.mark.django_db(transaction=True)
async def test_api_requests_bypass_the_middleware_and_pages_keep_it():
    seen: list[str] = []

    async def recorder(scope, receive, send):
        seen.append(scope["path"])
        return await get_asgi_application()(scope, receive, send)

    app = route_api(api_application(), recorder)
    status, headers = await _get(app, "/api/v1/no-such-endpoint")
    assert status == 404 and seen == []  # served by the lean API handler
    assert b"Cookie" not in headers.get(b"Vary", b"")  # no session/CSRF middleware ran
    status, headers = await _get(app, "/admin/login/")
    assert seen == ["/admin/login/"] and status == 200
    assert b"Cookie" in headers.get(b"Vary", b"")  # the full middleware stack ran


@pytest.mark.once
@pytest.mark.parametrize("threads", [0, -2, "8", 2.5, None])
def test_a_bad_api_threads_setting_is_named(settings: Any, threads: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from polos_django.asgi import api_application

    settings.POLOS = {**getattr(settings, "POLOS", {}), "API_THREADS": threads}
    with pytest.raises(ImproperlyConfigured, match=r"POLOS\['API_THREADS'\] must be a positive integer"):
        api_application()
