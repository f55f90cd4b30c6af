"""The test project's URLs plus the Polos app's (API); used by the API tests."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base

urlpatterns = [*base, path("", include("polos_django.urls"))]
