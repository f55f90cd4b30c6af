"""Websocket route of the UI's live timeline (put it behind Channels' ``AuthMiddlewareStack``)."""

from __future__ import annotations

from django.urls import re_path

from .consumers import TimelineConsumer

SOCKET_PATH = "/ws/ui/executions/{execution_id}/"

websocket_urlpatterns = [
    re_path(r"^ws/ui/executions/(?P<execution_id>[^/]+)/?$", TimelineConsumer.as_asgi(), name="polos-ui-timeline"),
]
