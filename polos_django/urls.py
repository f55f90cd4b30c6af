"""URLs of the Polos app: ``path("", include("polos_django.urls"))`` in the host project.

- ``/api/v1/...``: the HTTP API (docs at ``/api/v1/docs/``, OpenAPI at ``/api/v1/schema/``);
  unknown URLs under ``/api/`` answer a JSON 404.
- ``/polos/approve/<token>/``: approval pages (``polos_django.approvals``; the path is ``POLOS["APPROVAL_PATH"]``).
- ``/polos/slack/interactions/``, ``/polos/slack/events/``: Slack button clicks and mentions (``polos_django.notify``).
- ``/ui/...``: the web UI for staff users (``polos_django.ui``; needs Django admin's URLs for the login).
"""

from __future__ import annotations

from django.urls import include, path, re_path

from .api.errors import not_found

urlpatterns = [
    path("api/v1/", include("polos_django.api.urls")),
    re_path(r"^api/", not_found),
    path("ui/", include("polos_django.ui.urls")),
    path("", include("polos_django.approvals.urls")),
    path("", include("polos_django.notify.urls")),
]
