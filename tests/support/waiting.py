"""Waiting on a condition with a deadline, never a fixed sleep standing in for one.

`wait_until` returns as soon as the condition holds, so a fast machine is not slowed down and
a loaded one gets until the deadline. `holds_for` is the negative check ("nothing more
arrives"): it can only watch for a while, so each caller says in a comment why its duration is
long enough to mean something.
"""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.05


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    poll_s: float = POLL_S,
    detail: Callable[[], str] | None = None,
) -> None:
    """Return once `predicate()` is true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            more = f"; {detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{more}")
        time.sleep(poll_s)


def holds_for(
    predicate: Callable[[], object], duration: float, what: str, poll_s: float = POLL_S
) -> None:
    """Assert that `predicate()` stays true for `duration` s; fails at the first moment it
    does not, naming `what`."""
    end = time.monotonic() + duration
    while True:
        assert predicate(), f"no longer true: {what}"
        if time.monotonic() >= end:
            return
        time.sleep(poll_s)
