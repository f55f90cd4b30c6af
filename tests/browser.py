"""Shared Playwright fixtures: a live ASGI server of the test project and Debian's Chromium.

Registered for every test by ``pytest_plugins = ["tests.browser"]`` in ``tests/conftest.py``.

- ``app_server`` (function scope, needs the database): the test project served by a real daphne
  process (HTTP and websockets, static files, the app's URLs at ``/``) on a free loopback port; the
  process is started once per session and shares the test database and broker through the
  environment, like the worker processes. ``app_server.url`` / ``app_server.ws_url``;
  ``app_server.local(url)`` rewrites any absolute URL (an ``_approval_url``) onto the live server.
- ``browser`` (function): headless Chromium at ``$POLOS_CHROMIUM`` (default ``/usr/bin/chromium``),
  launched by Playwright with ``executable_path``; never ``playwright install``. Without it the
  browser tests skip (outside CI) or fail (``$CI`` set).
- ``page`` (function): a fresh context and page (mobile-sized viewport with ``mobile=True`` in the
  ``browser_context_args`` marker kwargs); a screenshot of how it ended is saved into
  ``test-artifacts/<test>.png``.
- ``screenshot(page, name)``: save a named screenshot into ``test-artifacts/`` (returns the path).

Browser tests are marked ``@pytest.mark.browser``. The daphne process serves ``tests.browser:application``
(built lazily when daphne imports it): the test project's ASGI app with ``ROOT_URLCONF = "tests.browser"``.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ENV = "POLOS_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright")


# --- the URLs and ASGI app the server process serves ----------------------------------------------


def _urlpatterns() -> list[Any]:
    from django.urls import include, path

    from tests.urls import urlpatterns as base

    return [*base, path("", include("polos_django.urls"))]


def _build_application() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "tests.browser"
    settings.DEBUG = False
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from polos_django.asgi import api_application, route_api

    http = ASGIStaticFilesHandler(get_asgi_application())
    try:
        from polos_django.routing import websocket_urlpatterns
    except ImportError:  # pragma: no cover - the app always has routing
        websocket_urlpatterns = []
    return ProtocolTypeRouter(
        {
            "http": route_api(api_application(), http),
            "websocket": AuthMiddlewareStack(URLRouter(list(websocket_urlpatterns))),
        }
    )


def __getattr__(name: str) -> Any:
    # ``urlpatterns`` for ROOT_URLCONF and ``application`` for daphne, built on first access only, so
    # importing this module as a pytest plugin configures nothing.
    if name == "urlpatterns":
        value = _urlpatterns()
    elif name == "application":
        value = _build_application()
    else:
        raise AttributeError(name)
    globals()[name] = value
    return value


# --- the server process ------------------------------------------------------------------------


class AppServer:
    """A daphne process serving the test project on a free loopback port."""

    def __init__(self) -> None:
        from polos_django.testing import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = ARTIFACTS / f"daphne-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> AppServer:
        ARTIFACTS.mkdir(exist_ok=True)
        pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": pythonpath, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "tests.browser:application"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/__ping__", timeout=2):
                    pass
                break
            except urllib.error.HTTPError:  # any HTTP answer means it serves
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"daphne not serving after {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def local(self, url: str) -> str:
        """``url`` (e.g. an ``_approval_url`` built from ``PUBLIC_URL``) on this server."""
        parts = urlsplit(url)
        return f"{self.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@pytest.fixture(scope="session")
def _app_server_process(django_db_setup: Any) -> Iterator[AppServer]:
    server = AppServer().start()
    yield server
    server.stop()


@pytest.fixture
def app_server(transactional_db: Any, _app_server_process: AppServer) -> AppServer:
    """The live test project (restarted if a test stopped it); rows the test writes are visible to it."""
    if _app_server_process.proc is None or _app_server_process.proc.poll() is not None:
        _app_server_process.start()
    return _app_server_process


# --- the browser -------------------------------------------------------------------------------


def chromium_executable() -> str | None:
    """Debian's Chromium (``$POLOS_CHROMIUM`` or ``/usr/bin/chromium``) if installed."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    return path if os.access(path, os.X_OK) else None


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium for one test.

    Playwright's sync API keeps an event loop running in this thread while it is alive, which makes
    Django refuse ORM calls ("async context"); the test's own ORM calls are plain sync code, so the
    check is switched off for the browser's lifetime only (and the browser is per test, so the
    database teardown after it runs with the check on again).
    """
    executable = chromium_executable()
    reason = (
        f"chromium not installed at {os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM} (scripts/setup.d/browser.sh)"
    )
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


def _artifact_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150] or "page"


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``test-artifacts/<name>.png``; returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{_artifact_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(name="screenshot")
def screenshot_fixture() -> Any:
    """The :func:`screenshot` helper as a fixture."""
    return screenshot


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; the way it ended is saved as ``test-artifacts/<test>.png``.

    ``@pytest.mark.browser(mobile=True)`` gives a phone-sized viewport with touch.
    """
    marker = request.node.get_closest_marker("browser")
    mobile = bool(marker and marker.kwargs.get("mobile"))
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
    if mobile:
        options = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        # A page that crashed still lets the test report its own failure.
        with contextlib.suppress(Exception):
            screenshot(page, request.node.name)
        context.close()
