"""Settings of the live test server (daphne): the test settings with the API's URLs."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.api.urls"
ASGI_APPLICATION = "tests.api.asgi.application"
