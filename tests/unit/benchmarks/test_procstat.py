"""The /proc readings the province benchmark takes its CPU and memory figures from, on real
processes of this machine."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.support.procstat import CpuMeter, cpu_ticks, rss_mb, slope_per_hour, tree

BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"


def test_a_child_born_after_the_start_counts_all_the_cpu_it_used() -> None:
    meter = CpuMeter()
    meter.start([])
    child = subprocess.Popen([sys.executable, "-c", BUSY + "input()"], stdin=subprocess.PIPE)
    try:
        # the child has used 0.3 s of CPU once it waits for input: sample while it lives
        while True:
            meter.sample([child.pid])
            if meter.seconds() >= 0.3:
                break
            assert child.poll() is None
        assert child.pid in tree(child.pid)
    finally:
        child.communicate(b"\n", timeout=10)
    assert cpu_ticks(child.pid) is None, "a reaped process has no stat"
    assert 0.3 <= meter.seconds() < 5, "what it used until last seen stays counted"


def test_a_process_present_at_the_start_counts_only_what_it_used_since() -> None:
    meter = CpuMeter()
    meter.start([1])  # init: it has used CPU before the start, and uses little now
    meter.sample([1])
    assert meter.seconds() < 1


def test_a_tree_holds_the_children_and_its_rss_is_theirs_summed() -> None:
    import os

    child = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    try:
        pids = tree(os.getpid())
        assert os.getpid() in pids and child.pid in pids
        assert rss_mb(pids) > rss_mb([os.getpid()])
    finally:
        child.communicate(b"\n", timeout=10)


def test_the_slope_is_per_hour_and_needs_three_samples() -> None:
    assert slope_per_hour([0.0, 1800.0, 3600.0], [100.0, 150.0, 200.0]) == 100.0
    assert slope_per_hour([0.0, 10.0, 20.0], [5.0, 5.0, 5.0]) == 0.0
    assert slope_per_hour([0.0, 1.0], [1.0, 2.0]) is None
    assert slope_per_hour([3.0, 3.0, 3.0], [1.0, 2.0, 3.0]) is None
