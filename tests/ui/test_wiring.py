"""The UI is wired into the app's URLs and websocket routes, and the bundled server serves both."""

from __future__ import annotations

import pytest
from django.urls import resolve

pytestmark = pytest.mark.once


def test_app_urls_and_the_bundled_server_mount_the_ui() -> None:
    for urlconf in ("polos_django.urls", "polos_django.server.urls"):
        match = resolve("/ui/executions/abc/", urlconf=urlconf)
        assert match.view_name == "polos_ui:execution" and match.kwargs == {"execution_id": "abc"}
    assert resolve("/admin/login/", urlconf="polos_django.server.urls").url_name == "login"  # the UI's login


def test_websocket_routes_include_the_timeline_socket() -> None:
    from polos_django.routing import websocket_urlpatterns
    from polos_django.ui.consumers import TimelineConsumer

    routes = {pattern.pattern.regex.pattern: pattern for pattern in websocket_urlpatterns}
    ui = next(p for r, p in routes.items() if "ws/ui/executions" in r)
    assert ui.callback.consumer_class is TimelineConsumer
    assert ui.pattern.match("ws/ui/executions/123/")
