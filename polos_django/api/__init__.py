"""The HTTP API (``/api/v1/``): Django REST framework views, API-key auth, SSE streams.

Include it through ``polos_django.urls`` (``path("", include("polos_django.urls"))``). See docs/api.md.
"""
