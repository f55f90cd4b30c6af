"""Run an example's ``main()`` against the real runtime: a Django project and its Celery worker.

    python -m examples.on_worker basics [--celery-app tests.celery_app]

``DJANGO_SETTINGS_MODULE`` names the project (default: the test project, ``tests.settings``); its
``POLOS["WORKFLOW_MODULES"]`` must list the example's ``workflows`` module so the worker knows it.
``--celery-app`` is the module that creates the project's Celery app: importing it here makes
``invoke`` and ``resume`` send their task messages to the project's broker.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os

EXAMPLES = [
    "basics",
    "approvals",
    "state",
    "errors",
    "parallel",
    "sandbox_local",
    "sandbox_allowlist",
    "sandbox_docker",
    "sandbox_session",
    "sandbox_web_search",
]


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", choices=EXAMPLES)
    parser.add_argument("--celery-app", default="tests.celery_app", help="module that defines the Celery app")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    importlib.import_module(args.celery_app)

    from polos_django.client import LocalClient

    main = importlib.import_module(f"examples.{args.example}.main").main
    result = asyncio.run(main(LocalClient()))
    print(json.dumps(result, indent=2, default=lambda value: value.model_dump()))


if __name__ == "__main__":
    cli()
