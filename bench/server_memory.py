"""Idle memory of ``polos server start`` with its defaults (SQLite + the embedded broker).

The server is started with nothing but a free ``--port`` and a fresh ``POLOS_HOME`` in a temporary
directory (so: SQLite ``$POLOS_HOME/polos.sqlite3``, the embedded ``valkey-server``, uvicorn, one
Celery worker with its default 2 prefork pool processes, beat), idle; ``--settle`` s (default 5)
after its ready line, the supervisor and all its descendants are read from ``/proc``:

- RSS (``VmRSS`` of ``/proc/<pid>/status``): resident pages of the process, shared or not;
- PSS (``Pss`` of ``/proc/<pid>/smaps_rollup``): each resident page divided by the number of
  processes that map it;
- USS (``Private_Clean + Private_Dirty``): pages only this process maps.

The sum of RSS counts every page shared between forked processes (a prefork pool's children share
most of their parent's memory, copy-on-write) once per process, so it overstates what the server
costs the machine; the sum of PSS counts each page once in total.  Both are printed with a verdict.

Baseline, same run: a bare ``python -c "import django"`` process (same interpreter), its RSS and
PSS read by itself after the import.

Target (issue): <= 400 MiB idle.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import common
from .api_invoke import PolosServer, clean_env, cmdline, descendants

TARGET_MIB = 400.0


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process in MiB (0 when it is gone)."""
    out = {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name == "Pss":
                out["pss"] = int(rest.split()[0]) / 1024
            elif name in ("Private_Clean", "Private_Dirty"):
                out["uss"] += int(rest.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def role(pid: int, parent_of: dict[int, int], supervisor: int) -> str:
    cmd = cmdline(pid)
    if pid == supervisor:
        return "supervisor"
    if "valkey-server" in cmd or "redis-server" in cmd:
        return "broker"
    if "uvicorn" in cmd:
        return "web (uvicorn)"
    if " beat" in cmd:
        return "beat"
    if " worker" in cmd:
        parent = parent_of.get(pid)
        return "worker pool process" if parent is not None and " worker" in cmdline(parent) else "worker"
    return "other"


def parents(pids: list[int]) -> dict[int, int]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            found[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return found


BARE_DJANGO = (
    "import django, json, pathlib\n"
    "status = pathlib.Path('/proc/self/status').read_text().splitlines()\n"
    "rollup = pathlib.Path('/proc/self/smaps_rollup').read_text().splitlines()\n"
    "rss = next(int(l.split()[1]) for l in status if l.startswith('VmRSS:'))\n"
    "pss = next(int(l.split()[1]) for l in rollup if l.startswith('Pss:'))\n"
    "print(json.dumps({'rss': rss / 1024, 'pss': pss / 1024}))\n"
)


def bare_django() -> dict[str, float]:
    import json

    done = subprocess.run([sys.executable, "-c", BARE_DJANGO], capture_output=True, text=True, check=True, timeout=60)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _args(parser: Any) -> None:
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after ready (default 5)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    common.header("server_memory", "defaults: SQLite + embedded broker")
    tmp = Path(tempfile.mkdtemp(prefix="polos-bench-memory-"))
    home = tmp / "home"
    server = PolosServer(home, env=clean_env(home))
    try:
        try:
            server.start()
        except BaseException:
            print(server.output(), file=sys.stderr)
            raise
        common.line("server ready after", f"{server.ready_after:.1f} s; measuring {args.settle:.0f} s later")
        time.sleep(args.settle)
        pids = [server.pid, *descendants(server.pid)]
        parent_of = parents(pids)
        rows = [(pid, role(pid, parent_of, server.pid), memory(pid)) for pid in pids]
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    base = bare_django()
    report(rows, base)


def report(rows: list[tuple[int, str, dict[str, float]]], base: dict[str, float]) -> None:
    print(f"  {'pid':>7}  {'process':<20} {'RSS MiB':>8} {'PSS MiB':>8} {'USS MiB':>8}", flush=True)
    for pid, name, mem in rows:
        print(f"  {pid:>7}  {name:<20} {mem['rss']:8.1f} {mem['pss']:8.1f} {mem['uss']:8.1f}", flush=True)
    total = {k: sum(m[k] for _, _, m in rows) for k in ("rss", "pss", "uss")}
    print(f"  {'':>7}  {'total':<20} {total['rss']:8.1f} {total['pss']:8.1f} {total['uss']:8.1f}", flush=True)
    common.line("processes", str(len(rows)))
    common.line("sum of RSS (shared pages once per process)", f"{total['rss']:.0f} MiB")
    common.line("sum of PSS (shared pages split)", f"{total['pss']:.0f} MiB")
    common.line("baseline: bare `python -c 'import django'`", f"RSS {base['rss']:.1f} MiB, PSS {base['pss']:.1f} MiB")
    common.ratio("ratio sum of PSS / bare Django RSS", total["pss"], base["rss"])
    common.ratio("ratio sum of RSS / bare Django RSS", total["rss"], base["rss"])
    common.target(f"idle sum of PSS <= {TARGET_MIB:.0f} MiB", total["pss"] <= TARGET_MIB)
    common.target(
        f"idle sum of RSS <= {TARGET_MIB:.0f} MiB (counts forked processes' shared pages once each)",
        total["rss"] <= TARGET_MIB,
    )


if __name__ == "__main__":
    main()
