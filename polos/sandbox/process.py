"""Running a host process with a timeout, bounded output capture and resource limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Sequence

from .errors import SandboxConfigError
from .output import clean_output
from .types import ExecResult

KILLED_EXIT_CODE = 137
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(value: str | int | None, what: str) -> int | None:
    """``"512m"`` -> bytes; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise SandboxConfigError(f"{what} must be a size such as '512m' or '2g', got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


class BoundedBuffer:
    """Keeps the first and last ``keep`` bytes of a stream and counts the rest."""

    def __init__(self, keep: int) -> None:
        self.keep = max(keep, 1024)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.keep:
                del self.tail[: len(self.tail) - self.keep]

    @property
    def dropped(self) -> int:
        """Bytes between the head and the tail that were not kept."""
        return self.total - len(self.head) - len(self.tail)

    def value(self) -> bytes:
        return bytes(self.head + self.tail)


async def _pump(stream: asyncio.StreamReader | None, buffer: BoundedBuffer) -> None:
    if stream is None:
        return
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return
        buffer.feed(chunk)


def rlimit_prefix(cpu_seconds: int | None, memory: int | None, file_size: int | None) -> list[str] | None:
    """An argv prefix applying the limits with util-linux ``prlimit`` (``None`` when it is missing).

    Cheaper than a ``preexec_fn``, which stops Python from spawning the child with vfork.
    """
    import shutil

    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return None
    prefix = [prlimit]
    if cpu_seconds:
        prefix.append(f"--cpu={cpu_seconds}:{cpu_seconds + 5}")
    if memory:
        prefix.append(f"--as={memory}")
    if file_size:
        prefix.append(f"--fsize={file_size}")
    return [*prefix, "--"]


def rlimit_setter(cpu_seconds: int | None, memory: int | None, file_size: int | None) -> Callable[[], None]:
    """A ``preexec_fn`` applying CPU-time, address-space and file-size limits in the child."""
    import resource

    def apply() -> None:
        if cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str,
    env: dict[str, str],
    timeout: float,
    max_output_chars: int,
    stdin: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> ExecResult:
    """Run ``argv``; on timeout the whole process group is killed and the exit code is 137."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )
    keep = max_output_chars * 4 + 1024
    out, err = BoundedBuffer(keep), BoundedBuffer(keep)
    if stdin is not None and proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(stdin.encode())
            await proc.stdin.drain()
        proc.stdin.close()
    pumps = asyncio.gather(_pump(proc.stdout, out), _pump(proc.stderr, err), proc.wait())
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(pumps), timeout=timeout)
    except TimeoutError:
        timed_out = True
        _kill_group(proc.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pumps, timeout=5)
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        raise
    finally:
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await asyncio.wait_for(proc.wait(), timeout=5)
    code = proc.returncode if proc.returncode is not None else KILLED_EXIT_CODE
    if code < 0:
        code = 128 - code
    if timed_out:
        code = KILLED_EXIT_CODE
    stdout, t1 = clean_output(out.value(), max_output_chars, out.dropped)
    stderr, t2 = clean_output(err.value(), max_output_chars, err.dropped)
    if timed_out:
        stderr = (stderr + "\n" if stderr else "") + f"[killed: the command ran longer than its {timeout:g} s timeout]"
    return ExecResult(
        exit_code=code,
        stdout=stdout,
        stderr=stderr,
        duration_ms=int((time.monotonic() - started) * 1000),
        truncated=t1 or t2,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


__all__ = ["KILLED_EXIT_CODE", "BoundedBuffer", "parse_size", "rlimit_prefix", "rlimit_setter", "run_process"]
