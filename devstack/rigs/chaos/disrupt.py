"""Process faults: kill a handler worker while it runs a batch; restart the emulator, or
kill it with SIGKILL and start it again.

Workers are the trigger runner's grandchildren (runner → forkserver → worker). "Busy" is
read from ``/proc/<pid>/wchan``: between invocations a worker's main thread blocks reading
its pipe; any other state means it is running one. Linux only, like ``/proc``.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from devstack.stack.deployment import DevStack, replace_env
from devstack.stack.process import BackgroundService

PROC = Path("/proc")


def _children(pid: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")"
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def worker_pids(trigger_pid: int) -> list[int]:
    """The handler worker processes of a trigger runner (children of its forkserver)."""
    return [worker for child in _children(trigger_pid) for worker in _children(child)]


IDLE_WAIT = "unix_stream_read_generic"
"""Kernel wait channel of a worker blocked reading its pipe, i.e. between invocations."""


def _waiting_on_pipe(pid: int) -> bool | None:
    """True while the worker's main thread waits for the next invocation; None if gone."""
    try:
        return (PROC / str(pid) / "wchan").read_text().strip() == IDLE_WAIT
    except OSError:
        return None


@dataclass(frozen=True)
class Kill:
    """A worker killed with SIGKILL and how long it took to find one mid-batch."""

    pid: int
    searched_s: float


def wait_for_idle_workers(trigger_pid: int, timeout: float) -> int:
    """Wait until the runner has workers and all of them wait for work (cold starts take
    seconds on a loaded machine); returns how many there are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(trigger_pid)
        if pids and all(_waiting_on_pipe(pid) for pid in pids):
            return len(pids)
        time.sleep(0.1)
    raise TimeoutError(f"the trigger runner's workers were not idle within {timeout:.0f} s")


def kill_busy_worker(
    trigger_pid: int, timeout: float, sample_s: float = 0.002, rescan_s: float = 0.25
) -> Kill | None:
    """SIGKILL the first worker seen waiting on its pipe and then not: it has received an
    invocation and is running it. A worker still starting up has never waited on its pipe,
    so it is not taken for one running a batch."""
    started = time.monotonic()
    idle: set[int] = set()
    pids: list[int] = []
    scanned = 0.0
    while time.monotonic() - started < timeout:
        if time.monotonic() - scanned > rescan_s:  # /proc scans are slow; wchan reads are not
            pids, scanned = worker_pids(trigger_pid), time.monotonic()
        for pid in pids:
            waiting = _waiting_on_pipe(pid)
            if waiting:
                idle.add(pid)
            elif waiting is False and pid in idle:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                return Kill(pid, time.monotonic() - started)
        time.sleep(sample_s)
    return None


@dataclass(frozen=True)
class Restart:
    """The emulator was stopped (SIGTERM, clean, or SIGKILL) and started again on the same
    port and state folder."""

    down_s: float


def _emulator(stack: DevStack) -> tuple[BackgroundService, int]:
    """The stack's emulator as a service pinned to its current port, and its pid, so the
    handlers' endpoint stays valid across a restart."""
    current = stack.featurestore().status()
    if current.url is None or current.pid is None:
        raise RuntimeError("the emulator is not running")
    port = int(current.url.rsplit(":", 1)[1])
    env = stack.environment()
    s3 = env.get("AWS_ENDPOINT_URL_S3") if stack.config.offline_to_s3 else None
    service = replace_env(stack.featurestore(s3), env)
    return BackgroundService(replace(service.spec, port=port), service.state_dir), current.pid


def restart_emulator(stack: DevStack) -> Restart:
    """Stop the stack's emulator and start it again on the same port and state folder;
    writes in flight meanwhile fail and are retried."""
    service, _ = _emulator(stack)
    started = time.monotonic()
    service.stop(timeout=120.0)
    service.start(timeout=90.0)
    return Restart(time.monotonic() - started)


def kill_emulator(stack: DevStack, timeout: float = 30.0) -> Restart:
    """SIGKILL the stack's emulator (no flush, no last commit: whatever it acknowledged must
    already be on disk), then start it again on the same port and state folder."""
    service, pid = _emulator(stack)
    started = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while service.status().running:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the emulator (pid {pid}) outlived SIGKILL for {timeout:.0f} s")
        time.sleep(0.01)
    service.stop()  # not running: forgets the dead process's pid file
    service.start(timeout=90.0)
    return Restart(time.monotonic() - started)
