"""Every example's ``main(client)`` runs twice: in memory (``LocalRuntime``) and on a real worker.

The in-memory run needs nothing; the worker run uses the shared Celery worker of the test project
(``tests/settings.py`` lists the examples' workflow modules in ``POLOS["WORKFLOW_MODULES"]``).
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.approvals.main import main as approvals_main
from examples.basics.main import main as basics_main
from examples.basics.workflows import Receipt
from examples.errors.main import main as errors_main
from examples.parallel.main import main as parallel_main
from examples.state.main import main as state_main
from polos.testing import LocalRuntime

# The worker runs need a transactional database from the start (the worker process must see every
# commit): the marker says so before any fixture runs; requesting transactional_db only through
# getfixturevalue() would come too late, and pytest-django would wrap the test in a transaction.
ON_WORKER = pytest.param("worker", marks=[pytest.mark.worker, pytest.mark.django_db(transaction=True)])


@pytest.fixture(params=["memory", ON_WORKER])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The client an example runs against: in memory, or the in-process client of a Django worker."""
    if request.param == "memory":
        yield LocalRuntime().client
        return
    request.getfixturevalue("worker")
    from celery import current_app

    from polos_django.client import LocalClient
    from tests.celery_app import app

    # Like a Django project that imports its Celery app in proj/__init__.py: without it, this
    # process would send doorbells to Celery's default broker and every wake-up would wait for the
    # worker's reaper (REDELIVER_AFTER_SECONDS).
    previous = current_app._get_current_object()
    app.set_current()
    yield LocalClient()
    previous.set_current()


async def run(main: Callable[[Any], Awaitable[Any]], client: Any) -> Any:
    return await asyncio.wait_for(main(client), timeout=120)


async def test_basics(client):
    result = await run(basics_main, client)
    receipt = result["receipt"]
    assert isinstance(receipt, Receipt)  # a pydantic result comes back as its class
    uuid.UUID(receipt.order_id)
    # The child got the order id drawn in the parent's first run; the parent returned it after a
    # replay: the same value, because ctx.step.uuid is recorded.
    assert receipt.confirmed_order_id == receipt.order_id
    assert receipt.reservation == f"R-{receipt.order_id[:8]}"
    assert receipt.reservation_attempts == 3  # failed twice, succeeded on the third attempt
    assert receipt.discount in (0.0, 0.1)
    assert receipt.total == round(42.5 * (1 - receipt.discount), 2)
    assert receipt.created_at.endswith("+00:00")
    assert result["notification"] == f"sent 'order {receipt.order_id[:8]} confirmed' to ada@example.com"


async def test_approvals(client):
    result = await run(approvals_main, client)
    assert result["small_expense"] == {
        "approved": True,
        "comment": "auto-approved (<= 100)",
        "payment": "paid 42.00 to bob",
    }
    assert result["large_expense"] == {
        "approved": True,
        "comment": "ok, within budget",
        "payment": "paid 900.00 to bob",
    }
    assert result["onboarding"] == {
        "status": "created",
        "account": "acct-ada",
        "profile_rounds": 2,
        "name": "Ada",
        "email": "ada@example.com",
        "plan": "team",
        "seats": 3,
    }
    assert result["document"] == {
        "document": "RFC-7: retries",
        "approved": True,
        "approvals": 2,
        "comments": {"bob": "LGTM", "carol": "needs a benchmark"},
    }


async def test_state(client):
    result = await run(state_main, client)
    assert result["state_while_paused"] == {
        "source": "crm-export",
        "batches_done": 2,
        "imported": 5,
        "skipped": ["batch-2:1"],
    }
    final = {"source": "crm-export", "batches_done": 3, "imported": 7, "skipped": ["batch-2:1"]}
    assert result["result"] == {"status": "done", **final}
    assert result["final_state"] == final


async def test_errors(client):
    result = await run(errors_main, client)
    assert result["retry"] == {"rows": 128, "calls": 3}
    assert result["fallback"] == {"amount": 108.0, "rate": 1.08, "source": "cache (primary failed: ConnectionError)"}
    assert result["booked"] == {
        "status": "booked",
        "bookings": ["flight to Lisbon", "hotel in Lisbon"],
        "payment": "charged 400",
    }
    rolled_back = result["rolled_back"]
    assert rolled_back["status"] == "rolled_back"
    assert "card declined: 4000 is over the limit of 1000" in rolled_back["reason"]
    assert rolled_back["undone"] == ["cancelled hotel in Oslo", "cancelled flight to Oslo"]  # reverse order
    failed = result["failed"]
    assert failed["raised"] == "ExecutionFailedError"
    assert (failed["status"], failed["error_type"]) == ("failed", "RuntimeError")
    assert failed["error"].startswith("trip not booked: child workflow 'errors_charge'")


async def test_parallel(client):
    result = await run(parallel_main, client)
    assert result["total_words"] == 17
    assert [page["url"] for page in result["pages"]] == [f"https://example.com/{n}" for n in "abd"]  # request order
    assert list(result["failed"]) == ["https://example.com/c"]
    assert "https://example.com/c is empty" in result["failed"]["https://example.com/c"]
    assert result["tags"] == ["short", "long", "long"]


EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


async def test_sandbox_local(client):
    from examples.sandbox_local.main import main

    outcome = await run(main, client)
    assert outcome["status"] == "completed"
    assert [a["source"] for a in outcome["approvals"]] == ["tool_approval", "exec_security"]
    assert outcome["approvals"][1]["context"]["command"] == "node hello.js"
    assert outcome["output"] == "Hello from the sandbox!\n"


async def test_sandbox_allowlist(client):
    from examples.sandbox_allowlist.main import main

    outcome = await run(main, client)
    assert outcome["asked"] == ["ls; rm -rf build"]  # only the chained command needed a human
    listed, version, rejected = outcome["tool_results"]
    assert listed["exit_code"] == 0 and version["stdout"].startswith("v")
    assert "Do not delete build/" in rejected["error"]  # the reviewer's feedback reached the model


async def test_sandbox_docker(client):
    from examples.sandbox_docker.main import main

    outcome = await run(main, client)
    if outcome["status"] == "skipped":
        pytest.skip(outcome["reason"])
    assert outcome["exec"]["stdout"] == "sum=42\nLinux\n1000\n"


async def test_sandbox_session(client):
    from examples.sandbox_session.main import main

    _, second, other = (await run(main, client))["turns"]
    assert second["tool"]["stdout"] == "buy milk\n"  # same session, same workspace
    assert other["tool"]["stdout"] == ""  # another session, another workspace


async def test_sandbox_web_search(client):
    from examples.sandbox_web_search.main import main

    outcome = await run(main, client)
    assert [r["url"] for r in outcome["search"]["results"]][-1] == "https://example.org/sandbox"


def _runs_example(name: str) -> bool:
    """Whether some test module (not the settings) runs ``examples/<name>``."""
    family, _, member = name.partition("_")
    for path in (EXAMPLES_DIR.parent / "tests").rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text()
        if f"examples.{name}" in text or (member and f"examples.{family}_{{" in text and f'"{member}"' in text):
            return True
    return False


def test_every_example_is_complete_and_wired():
    """Every example has a README, a main.py, a definitions module the test worker imports, and a test."""
    from django.conf import settings

    from examples.on_worker import EXAMPLES
    from polos import Workflow

    packages = sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / "__init__.py").exists())
    assert set(EXAMPLES) <= set(packages)
    index = (EXAMPLES_DIR / "README.md").read_text()
    for name in packages:
        for filename in ("README.md", "main.py"):
            assert (EXAMPLES_DIR / name / filename).exists(), f"examples/{name}/{filename} is missing"
        defined = [m for m in ("workflows", "agents") if (EXAMPLES_DIR / name / f"{m}.py").exists()]
        modules = [f"examples.{name}.{m}" for m in defined]
        assert modules, f"examples/{name} defines no workflows.py or agents.py"
        for module in modules:
            assert module in settings.POLOS["WORKFLOW_MODULES"], f"the test worker does not import {module}"
            workflows = [w for w in vars(importlib.import_module(module)).values() if isinstance(w, Workflow)]
            assert workflows and all(w.id.startswith(f"{name}_") for w in workflows), [w.id for w in workflows]
        assert _runs_example(name), f"no test runs examples/{name}"
        assert f"{name}/" in index, f"examples/README.md does not list {name}"
