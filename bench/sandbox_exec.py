"""Sandbox exec round trip: ``exec("true")`` in each environment vs. a bare ``subprocess.run``.

    python -m bench.sandbox_exec [--runs 50]

Measures, in one run on this machine:

* the baseline: ``subprocess.run(["/bin/sh", "-c", "true"])``;
* ``LocalEnvironment`` without isolation (plain process: clean env, rlimits, output capture);
* ``LocalEnvironment`` inside bubblewrap (new namespaces per command), when bwrap is usable;
* ``DockerEnvironment`` (``docker exec`` through the engine API), when an engine with the test
  image (``$POLOS_TEST_DOCKER_IMAGE``, built by scripts/setup.d/docker.sh) is reachable;

and the creation time of each environment (``initialize()``; for Docker, container create + start).
Prints median and p95 per environment and the ratio to the baseline. No database is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable

from polos.sandbox import DockerEnvironment, DockerEnvironmentConfig, LocalEnvironment, LocalEnvironmentConfig
from polos.sandbox.environments.base import ExecutionEnvironment
from polos.sandbox.environments.local import bubblewrap_available

IMAGE = os.environ.get("POLOS_TEST_DOCKER_IMAGE", "polos-sandbox-test:1")


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    await fn()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


def docker_reason() -> str | None:
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:
        return f"{type(exc).__name__}: no engine with {IMAGE}"
    return None


async def main(runs: int) -> None:
    print(f"sandbox exec round trip, {runs} runs each (load average {os.getloadavg()[0]:.2f}, 2 cores)")
    baseline_samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", "true"], check=True, capture_output=True)
        baseline_samples.append(time.perf_counter() - started)
    base_median, base_p95 = stats(baseline_samples[1:])
    print(f"  {'baseline subprocess.run':28} median {base_median:7.2f} ms  p95 {base_p95:7.2f} ms")

    workdir = tempfile.mkdtemp(prefix="polos-bench-sandbox-")
    environments: list[tuple[str, Callable[[], ExecutionEnvironment]]] = [
        ("local (no isolation)", lambda: LocalEnvironment(LocalEnvironmentConfig(cwd=workdir, isolation="none")))
    ]
    if bubblewrap_available():
        environments.append(
            (
                "local (bubblewrap)",
                lambda: LocalEnvironment(LocalEnvironmentConfig(cwd=workdir, isolation="bubblewrap")),
            )
        )
    else:
        print("  local (bubblewrap): skipped, bwrap is not usable here")
    reason = docker_reason()
    if reason is None:
        environments.append(
            (
                "docker",
                lambda: DockerEnvironment(
                    DockerEnvironmentConfig(image=IMAGE, workspace_dir=os.path.join(workdir, "docker")),
                    sandbox_id=f"bench-{os.getpid()}",
                ),
            )
        )
    else:
        print(f"  docker: skipped ({reason})")

    for name, make in environments:
        env = make()
        started = time.perf_counter()
        await env.initialize({"polos.managed": "true", "polos.bench": "1"})
        created_ms = (time.perf_counter() - started) * 1000
        try:
            samples = await timed(lambda env=env: env.exec("true"), runs)  # type: ignore[misc]
        finally:
            started = time.perf_counter()
            await env.destroy()
            destroyed_ms = (time.perf_counter() - started) * 1000
        median, p95 = stats(samples)
        print(
            f"  {name:28} median {median:7.2f} ms  p95 {p95:7.2f} ms  ({median / base_median:5.1f}x baseline)"
            f"  create {created_ms:7.1f} ms  destroy {destroyed_ms:6.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    asyncio.run(main(parser.parse_args().runs))
