"""CPU time and memory of process trees, read from /proc (Linux): what a soak benchmark needs
to say how much of the machine its services and PostgreSQL's backends used."""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import suppress

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (those alive now)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        with suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    todo += [int(c) for c in children.read().split()]
    return found


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU ticks the process has used (None once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # the command name may hold spaces: the fields after its closing parenthesis
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def status_kb(pid: int, field: str) -> int:
    """A `VmRSS:`-style field of /proc/PID/status in kB (0 once the process has gone)."""
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def rss_mb(pids: Iterable[int]) -> float:
    """The summed resident set of `pids` now, MB."""
    return sum(status_kb(p, "VmRSS:") for p in pids) / 1024


def pss_mb(pids: Iterable[int]) -> float:
    """The summed proportional set size of `pids` now, MB: pages shared between them (a
    forked child's) split among the sharers, so a tree is not counted twice."""
    total = 0
    for p in pids:
        with suppress(OSError), open(f"/proc/{p}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total / 1024


def largest_rss_mb(pids: Iterable[int]) -> float:
    """The resident set of the largest of `pids` now, MB."""
    return max((status_kb(p, "VmRSS:") for p in pids), default=0) / 1024


class CpuMeter:
    """CPU seconds used by a changing set of processes since `start`: a process first seen
    after the start counts from zero (it was born during the window), one that exits keeps
    what it used until it was last seen."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.started = False

    def start(self, pids: Iterable[int]) -> None:
        for p in pids:
            if (t := cpu_ticks(p)) is not None:
                self.first[p] = self.last[p] = t
        self.started = True

    def sample(self, pids: Iterable[int]) -> None:
        for p in pids:
            if (t := cpu_ticks(p)) is not None:
                self.first.setdefault(p, 0)
                self.last[p] = t

    def seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) / TICKS_PER_S


def slope_per_hour(times_s: list[float], values: list[float]) -> float | None:
    """Least-squares slope of `values` against `times_s`, per hour (None under 3 samples)."""
    n = len(times_s)
    if n < 3:
        return None
    mt, mv = sum(times_s) / n, sum(values) / n
    var = sum((t - mt) ** 2 for t in times_s)
    if var == 0:
        return None
    cov = sum((t - mt) * (v - mv) for t, v in zip(times_s, values, strict=True))
    return 3600 * cov / var
