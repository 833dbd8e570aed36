"""Child processes a test starts, and the sure end of all of them.

A service started by a test may start its own children, some in their own sessions (the
demo's services use start_new_session), which the test's own `kill()` never reaches: a failing
test would leave them running, still talking to the shared broker and database.
`start_tree` (or the `process_tree` block) starts a command in a new process group with a tag
in its environment, which every descendant inherits unless it is given a fresh environment.
Ending the tree ends every process of it: those carrying the tag, those still below the
command, and those of its process group; SIGTERM first, SIGKILL after a grace period. A tree
ends when its block exits or `end_tree` is called, and at the latest when the test ends,
whatever happened in it (the autouse fixture in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psutil

from tests.support.waiting import wait_until

# Not ENERGYWATCH_*: the settings would read that prefix as theirs.
TREE_TAG = "EW_TEST_PROCESS_TREE"
GRACE_S = 10.0


# Trees started and not yet ended, by root pid: the autouse fixture in tests/conftest.py ends
# what a test left behind, so even a test that fails before its own clean-up leaks nothing.
_open: dict[int, tuple[subprocess.Popen[Any], str]] = {}


def start_tree(
    args: Sequence[str], env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.Popen[Any]:
    """`subprocess.Popen(args, ...)` in its own process group, with a tag its descendants
    inherit; ended by `end_tree`, `process_tree`'s exit, or the end of the test at the latest."""
    tag = uuid.uuid4().hex
    full_env = {**(os.environ if env is None else env), TREE_TAG: tag}
    proc: subprocess.Popen[Any] = subprocess.Popen(
        args, env=full_env, start_new_session=True, **popen
    )
    _open[proc.pid] = (proc, tag)
    return proc


@contextlib.contextmanager
def process_tree(
    args: Sequence[str], env: Mapping[str, str] | None = None, **popen: Any
) -> Iterator[subprocess.Popen[Any]]:
    """`start_tree`, with every process of the tree ended when the block exits (normally or
    not). Pipes asked for stay open (a thread may still be reading the last output): the
    caller closes them."""
    proc = start_tree(args, env, **popen)
    try:
        yield proc
    finally:
        end_tree(proc)


def end_open_trees() -> list[int]:
    """End every tree not ended yet; the root pids of those that were still open."""
    roots = list(_open)
    for pid in roots:
        end_tree(_open[pid][0])
    return roots


def tree_members(tag: str, group: int) -> list[psutil.Process]:
    """Live processes of a tree: those carrying its tag or in its process group."""
    found = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(p.pid) == group or p.environ().get(TREE_TAG) == tag:
                found.append(p)
    return [p for p in found if _running(p)]


def end_tree(proc: subprocess.Popen[Any], grace_s: float = GRACE_S) -> None:
    """SIGTERM to every process of the tree, SIGKILL to those left after `grace_s`; returns
    once none runs (AssertionError if one still does after another `grace_s`)."""
    opened = _open.pop(proc.pid, None)
    if opened is None:
        return
    tag, group = opened[1], proc.pid  # the group leader's pid names the group
    members = {p.pid: p for p in tree_members(tag, group)}
    if proc.poll() is None:  # not reaped: its pid is still its own
        with contextlib.suppress(psutil.Error):
            top = psutil.Process(proc.pid)
            members.update((p.pid, p) for p in [top, *top.children(recursive=True)])
    for p in members.values():
        with contextlib.suppress(psutil.Error):
            p.terminate()
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not any(_running(p) for p in members.values()), grace_s, "SIGTERM")
    for p in [*members.values(), *tree_members(tag, group)]:
        with contextlib.suppress(psutil.Error):
            if _running(p):
                p.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace_s)
    wait_until(
        lambda: not tree_members(tag, group),
        grace_s,
        "every process of the tree to end",
        detail=lambda: f"left: {[p.pid for p in tree_members(tag, group)]}",
    )


def _running(p: psutil.Process) -> bool:
    """Still running: a zombie has ended and only waits for its parent to read its status."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
