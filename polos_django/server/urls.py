"""URLs of the bundled project: the admin, the health check, and the app's own URLs when present."""

from __future__ import annotations

from importlib.util import find_spec

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path


def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the HTTP server (no database query: it must stay cheap enough to poll)."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    re_path(r"^api/v1/health/?$", health, name="polos-health"),
    path("admin/", admin.site.urls),
]

# The HTTP API and approval pages live in the reusable app (the same URLs a host project includes).
if find_spec("polos_django.urls") is not None:
    urlpatterns.append(path("", include("polos_django.urls")))
