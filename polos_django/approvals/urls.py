"""URLs of the approval pages (included by ``polos_django.urls``).

The page lives at ``POLOS["APPROVAL_PATH"]`` (``/polos/approve/<token>/``), read when the URLconf
is loaded; short SMS links at ``/polos/a/<code>/``.
"""

from __future__ import annotations

from django.urls import path

from . import views
from .links import SHORT_PATH, approval_path

app_name = "polos_approvals"

urlpatterns = [
    path(approval_path().lstrip("/") + "<str:token>/", views.approval_page, name="page"),
    path(SHORT_PATH.lstrip("/") + "<str:code>/", views.short_link, name="short"),
]
