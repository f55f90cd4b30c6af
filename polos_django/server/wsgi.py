"""WSGI entry point of the bundled project (HTTP only; ``asgi.py`` adds websockets)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polos_django.server.settings")

application = get_wsgi_application()
