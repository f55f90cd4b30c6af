"""ASGI helpers: serve the token-authenticated API without Django's middleware chain.

Under ASGI every classic (sync-hook) middleware costs two thread hand-offs per request; with the
usual seven that is about 30 hand-offs, ~3-4 ms of CPU for a trivial view.  The API authenticates
every request with its key and uses neither sessions, CSRF cookies nor messages, so
:func:`api_application` serves it through a handler with no middleware, and :func:`route_api`
sends ``/api/`` requests there and everything else (admin, pages) through the full stack::

    django_app = get_asgi_application()
    application = ProtocolTypeRouter({"http": route_api(api_application(), django_app), ...})
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

API_PREFIX = "/api/"


class _ApiHandler(ASGIHandler):
    """Django's ASGI handler with an empty middleware chain."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)


def api_application() -> Any:
    """An ASGI app for the API URLs (call after Django is set up, like ``get_asgi_application``)."""
    return _ApiHandler()


def route_api(api_app: Any, default_app: Any, prefix: str = API_PREFIX) -> Any:
    """An ASGI app sending HTTP requests under ``prefix`` to ``api_app``, the rest to ``default_app``."""

    async def app(scope: Any, receive: Any, send: Any) -> Any:
        if scope.get("type") == "http" and scope.get("path", "").startswith(prefix):
            return await api_app(scope, receive, send)
        return await default_app(scope, receive, send)

    return app
