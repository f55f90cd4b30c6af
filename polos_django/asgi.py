"""ASGI helpers: serve the token-authenticated API without Django's middleware chain.

Under ASGI every classic (sync-hook) middleware costs two thread hand-offs per request; with the
usual seven that is about 30 hand-offs, ~3-4 ms of CPU for a trivial view.  The API authenticates
every request with its key and uses neither sessions, CSRF cookies nor messages, so
:func:`api_application` serves it through a handler with no middleware, and :func:`route_api`
sends ``/api/`` requests there and everything else (admin, pages) through the full stack::

    django_app = get_asgi_application()
    application = ProtocolTypeRouter({"http": route_api(api_application(), django_app), ...})

Django's handler also gives every request a fresh thread for its synchronous code (a
``ThreadSensitiveContext`` per request), so each request pays for starting a thread and, with
persistent connections off, for a new database connection.  The API handler instead runs each
request's synchronous code on one of ``API_THREADS`` long-lived threads (still one thread per
request, as Django requires), so threads and their connections are reused.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

API_PREFIX = "/api/"


class _ApiHandler(ASGIHandler):
    """Django's ASGI handler with an empty middleware chain and long-lived request threads."""

    def __init__(self, threads: int) -> None:
        super().__init__()
        self._lanes = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"polos-api-{n}") for n in range(threads)]
        self._next_lane = itertools.cycle(self._lanes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"the API handler serves HTTP only, not {scope['type']}")
        # Round robin: a lane busy with a slow request delays the next one queued on it, which is
        # why there are several; one request's sync calls all run on its lane's single thread.
        async with ThreadSensitiveContext(executor=next(self._next_lane)):
            await self.handle(scope, receive, send)

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)


def api_application() -> Any:
    """An ASGI app for the API URLs (call after Django is set up, like ``get_asgi_application``)."""
    from .conf import polos_settings

    threads = polos_settings.API_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ImproperlyConfigured(f"POLOS['API_THREADS'] must be a positive integer, not {threads!r}")
    return _ApiHandler(threads)


def route_api(api_app: Any, default_app: Any, prefix: str = API_PREFIX) -> Any:
    """An ASGI app sending HTTP requests under ``prefix`` to ``api_app``, the rest to ``default_app``."""

    async def app(scope: Any, receive: Any, send: Any) -> Any:
        if scope.get("type") == "http" and scope.get("path", "").startswith(prefix):
            return await api_app(scope, receive, send)
        return await default_app(scope, receive, send)

    return app
