"""ASGI entry point of the bundled project: HTTP through Django, websockets through Channels.

``uvicorn polos_django.server.asgi:application`` (what ``polos server start`` runs; daphne works too).
"""

from __future__ import annotations

import os
from importlib import import_module
from importlib.util import find_spec
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polos_django.server.settings")

from django.conf import settings
from django.core.asgi import get_asgi_application

# Set Django up before importing anything that touches models (consumers).
django_asgi_app: Any = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

if settings.POLOS_SERVE_STATIC:
    # Daphne serves no static files; the admin needs its CSS/JS.  Fine for a local server; behind a
    # real deployment put a CDN or whitenoise in front and set POLOS_SERVE_STATIC=0.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

websocket_urlpatterns: list[Any] = []
if find_spec("polos_django.routing") is not None:
    websocket_urlpatterns = list(import_module("polos_django.routing").websocket_urlpatterns)

_websocket_app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
_origin_checked = AllowedHostsOriginValidator(_websocket_app)


async def websocket_app(scope: Any, receive: Any, send: Any) -> Any:
    """Check the Origin of browser connections; let clients that send none (SDKs, curl) through.

    The Origin check protects cookie-authenticated browser sessions from other sites; every socket
    still needs an API key (or a logged-in session) in the consumer.
    """
    if any(name == b"origin" for name, _ in scope.get("headers", ())):
        return await _origin_checked(scope, receive, send)
    return await _websocket_app(scope, receive, send)


from polos_django.asgi import api_application, route_api  # noqa: E402

application = ProtocolTypeRouter({"http": route_api(api_application(), django_asgi_app), "websocket": websocket_app})
