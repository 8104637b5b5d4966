"""CPU seconds per local-stack process, read from ``/proc`` (Linux; empty elsewhere).

Where the demo's time goes is a question of CPU, not wall time, on a shared 2-core machine:
this sums user+system time of each service's process and every descendant (the trigger
runner's fork server and handler workers), including children already reaped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from devstack.stack.process import PROC, proc_stat

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU s, reaped children's CPU s) of a live process, None if gone."""
    fields = proc_stat(pid)
    if fields is None:
        return None
    # fields[0] is state (field 3); utime/stime/cutime/cstime are fields 14-17.
    ppid = int(fields[1])
    own = (int(fields[11]) + int(fields[12])) / _TICKS
    reaped = (int(fields[13]) + int(fields[14])) / _TICKS
    return ppid, own, reaped


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    if not PROC.is_dir():
        return parents
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    return parents


def tree_cpu(pid: int, parents: Mapping[int, int] | None = None) -> dict[int, float]:
    """CPU seconds of ``pid`` and each live descendant (own time + reaped children's)."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    result: dict[int, float] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        stat = _stat(current)
        if stat is None:
            continue
        result[current] = stat[1] + stat[2]
        todo.extend(children.get(current, []))
    return result


def service_cpu(pids: Mapping[str, int]) -> dict[str, dict[str, float]]:
    """Per service name: CPU seconds of the main process and of its descendants."""
    parents = _parents()
    report: dict[str, dict[str, float]] = {}
    for name, pid in pids.items():
        tree = tree_cpu(pid, parents)
        main = tree.pop(pid, 0.0)
        report[name] = {"main": main, "children": sum(tree.values())}
    return report


def self_cpu() -> float:
    """CPU seconds of this process (all threads) so far."""
    times = os.times()
    return times.user + times.system
