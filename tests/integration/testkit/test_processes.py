"""process_tree ends every process a test started, whatever happens inside the block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.support.processes import TREE_TAG, end_open_trees, process_tree, start_tree

# A service that starts helpers as the demo does: one in its own session (out of reach of a
# kill of the service's group), one in the service's group, and, unless told not to, one in
# its own session with a fresh environment (no tag). It prints their pids, then waits.
SERVICE = """
import os, subprocess, sys, time
sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
kids = [
    subprocess.Popen(sleep, start_new_session=True),
    subprocess.Popen(sleep),
]
if sys.argv[1] == "with-fresh-env":
    kids.append(subprocess.Popen(sleep, start_new_session=True, env={}))
print(os.getpid(), *[k.pid for k in kids], flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        p = psutil.Process(pid)
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start(kind: str):
    return process_tree([sys.executable, "-c", SERVICE, kind], stdout=subprocess.PIPE, text=True)


def test_a_test_failing_inside_leaves_no_process_of_the_tree() -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="the test failed"), _start("with-fresh-env") as proc:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 4 and all(_running(p) for p in pids)
        assert os.getpgid(pids[1]) == pids[1] != os.getpgid(pids[0])  # its own session
        raise RuntimeError("the test failed")
    assert proc.stdout is not None
    proc.stdout.close()
    assert [p for p in pids if _running(p)] == []


def test_helpers_orphaned_by_a_crashed_service_are_ended_too() -> None:
    with _start("inherit-env") as proc:
        assert proc.stdout is not None
        _, own_session, same_group = (int(p) for p in proc.stdout.readline().split())
        proc.send_signal(signal.SIGKILL)  # the service dies; its helpers live on, orphaned
        proc.wait(10)
        # Without the tree's end they would keep running: this is what a plain kill leaves.
        assert _running(own_session) and _running(same_group)
        assert psutil.Process(own_session).environ()[TREE_TAG]
    proc.stdout.close()
    assert not _running(own_session) and not _running(same_group)


def test_a_tree_the_test_did_not_end_is_ended_when_the_test_ends() -> None:
    # start_tree without an end: what the autouse fixture of tests/conftest.py then calls.
    proc = start_tree([sys.executable, "-c", SERVICE, "inherit-env"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert all(_running(p) for p in pids)
    assert end_open_trees() == [proc.pid]
    proc.stdout.close()
    assert [p for p in pids if _running(p)] == []
    assert end_open_trees() == []
