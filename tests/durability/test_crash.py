"""Durability under SIGKILL: nothing lost, no recorded step run again, quick recovery."""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.db.models import Count

from polos_django import client
from polos_django.models import Execution, Step, Wait
from polos_django.status import broker_backlog
from tests.conftest import wait_until
from tests.sampleapp.models import Invocation

WORKFLOWS = 100
STEPS = 10
# 100 x 10 x 50 ms of step work: at least ~12 s on two workers, so several kill rounds land mid-run.
STEP_SLEEP = 0.05


def test_sigkill_workers_every_two_seconds(start_workers):
    workers = start_workers(2)
    handles = client.batch_invoke([{"id": "dj_steps", "payload": {"steps": STEPS, "sleep": STEP_SLEEP}}] * WORKFLOWS)
    ids = [h.id for h in handles]
    killed_pids: set[int] = set()
    recoveries: list[float] = []
    deadline = time.monotonic() + 300
    turn = 0
    while Execution.objects.filter(id__in=ids, status="completed").count() < WORKFLOWS:
        assert time.monotonic() < deadline, "workflows did not all finish within 300 s"
        time.sleep(2)
        victim = workers[turn % 2]
        turn += 1
        owner_suffix = f":{victim.pid}"
        in_flight = list(
            Execution.objects.filter(status="running", lease_owner__endswith=owner_suffix).values_list("id", flat=True)
        )
        killed_pids.add(victim.pid)
        killed_at = time.monotonic()
        victim.kill()
        for execution_id in in_flight:
            # Recovered = taken back from the dead owner: queued again with a fresh doorbell, or claimed.
            wait_until(
                lambda e=execution_id, o=owner_suffix: (
                    not Execution.objects.filter(id=e, status="running", lease_owner__endswith=o).exists()
                ),
                timeout=60,
                message=f"recovery of {execution_id}",
            )
            recoveries.append(time.monotonic() - killed_at)
        victim.start()

    for handle in handles:
        assert client.wait_for_result(handle.id, timeout=5) == {"values": [f"s{i}" for i in range(STEPS)], "n": STEPS}
    assert Step.objects.filter(execution_id__in=ids).count() == WORKFLOWS * STEPS
    assert not Execution.objects.filter(status__in=["queued", "running", "waiting"]).exists()
    assert not Wait.objects.exists()

    # No recorded step ran again: nothing was invoked after its result was recorded ...
    recorded = {(s.execution_id, s.key): s.created_at for s in Step.objects.filter(execution_id__in=ids)}
    after_record = [
        inv
        for inv in Invocation.objects.filter(execution_id__in=ids)
        if inv.created_at > recorded[(inv.execution_id, inv.key)]
    ]
    assert after_record == []
    # ... and a step ran more than once only when a killed worker died before recording it.
    repeated = Invocation.objects.values("execution_id", "key").annotate(n=Count("id")).filter(n__gt=1)
    for row in repeated:
        runs = list(Invocation.objects.filter(execution_id=row["execution_id"], key=row["key"]).order_by("created_at"))
        assert {r.pid for r in runs[:-1]} <= killed_pids

    kills = sum(w.kills for w in workers)
    assert kills >= 3
    if recoveries:
        print(
            f"\n{kills} SIGKILLs, {len(recoveries)} in-flight executions recovered: "
            f"median {statistics.median(recoveries):.2f} s, max {max(recoveries):.2f} s after the kill; "
            f"{repeated.count()} step(s) re-ran after their worker died before recording them"
        )


def test_thousand_suspended_executions_hold_no_worker(start_workers):
    [worker] = start_workers(1)
    rss_idle = worker.rss_kib()
    handles = client.batch_invoke([{"id": "dj_approval", "payload": {}}] * 1000)
    ids = [h.id for h in handles]
    wait_until(
        lambda: Execution.objects.filter(id__in=ids, status="waiting").count() == 1000,
        timeout=180,
        interval=0.2,
        message="1000 executions suspended",
    )
    rss_waiting = worker.rss_kib()
    assert not Execution.objects.filter(status="running").exists()
    assert not Execution.objects.filter(id__in=ids, lease_owner__isnull=False).exists()
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert broker_backlog([queue]) == {queue: 0}
    # The only worker is free: other work runs at once.
    quick = client.invoke("dj_steps", {"steps": 1})
    assert client.wait_for_result(quick.id, timeout=20)["n"] == 1

    for handle in handles:
        client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
    wait_until(
        lambda: Execution.objects.filter(id__in=ids, status="completed").count() == 1000,
        timeout=240,
        interval=0.2,
        message="1000 executions resumed and completed",
    )
    assert Invocation.objects.filter(execution_id__in=ids, key="before").count() == 1000
    growth_mib = (rss_waiting - rss_idle) / 1024
    print(f"\nworker RSS idle {rss_idle / 1024:.0f} MiB, with 1000 suspended {rss_waiting / 1024:.0f} MiB")
    assert growth_mib < 64, f"worker memory grew by {growth_mib:.0f} MiB while executions waited"
