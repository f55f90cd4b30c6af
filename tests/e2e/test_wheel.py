"""The built wheel carries everything the app needs at run time: code, migrations, templates, static files.

The wheel is built from ``pyproject.toml`` and unpacked into a folder of its own (``pip install
--target``, no dependencies); a fresh interpreter then imports the packages from that folder — not
from this checkout — and renders the app's templates and finds its static files the way a Django
project would (``APP_DIRS`` and the app-directories static finder).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.once, pytest.mark.slow, pytest.mark.timeout(300)]

PROBE = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.staticfiles",
                        "polos_django"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        STATIC_URL="/static/",
        USE_TZ=True,
    )
    django.setup()
    import polos, polos_django
    from django.contrib.staticfiles import finders
    from django.db.migrations.loader import MigrationLoader
    from django.template.loader import get_template

    print(json.dumps({
        "polos": polos.__file__,
        "polos_django": polos_django.__file__,
        "template": get_template("polos/approvals/base.html").origin.name,
        "static": finders.find("polos/ui/live.js"),
        "migrations": sorted(name for app, name in MigrationLoader(None).disk_migrations if app == "polos"),
    }))
    """
)


def test_the_wheel_carries_templates_static_files_and_migrations(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = dist.glob("polos_django-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert not (target / "polos_django" / "templates").is_symlink()  # the real folder, not the checkout's link

    # -I would also drop the venv's site-packages (Django, ...): put the unpacked wheel first instead,
    # and run from a folder outside the checkout so nothing imports from it.
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    for key in ("polos", "polos_django", "template", "static"):
        assert found[key] and str(found[key]).startswith(str(target)), (key, found[key])
    assert "0001_initial" in found["migrations"] and "0006_step_function" in found["migrations"]
