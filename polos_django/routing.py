"""Websocket routes of the Polos app; add them to the host project's ASGI ``URLRouter``::

from polos_django.routing import websocket_urlpatterns
application = ProtocolTypeRouter({"http": ..., "websocket": URLRouter(websocket_urlpatterns)})
"""

from __future__ import annotations

from django.urls import re_path

from .consumers import ExecutionTraceConsumer
from .ui.routing import websocket_urlpatterns as ui_websocket_urlpatterns

websocket_urlpatterns = [
    re_path(r"^ws/executions/(?P<execution_id>[^/]+)/?$", ExecutionTraceConsumer.as_asgi(), name="polos-trace"),
    *ui_websocket_urlpatterns,  # the UI's live timeline (session-authenticated: needs AuthMiddlewareStack)
]
