"""The one backoff of the project: waits that double from `first_s` up to `max_s`.

Used wherever a loop retries a database or a broker; `reset()` once it works again.
"""

from __future__ import annotations

import random
import threading


def backoff_s(first_s: float, max_s: float, failures: int) -> float:
    """The wait after `failures` failures in a row (the first failure waits `first_s`)."""
    return float(min(max_s, first_s * 2 ** max(0, failures - 1)))


class Backoff:
    """`jitter` spreads the waits by ±share, so that many clients do not retry in step."""

    def __init__(self, first_s: float, max_s: float, jitter: float = 0.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.jitter = jitter
        self.failures = 0

    @property
    def next_s(self) -> float:
        """The wait the next failure will get, before jitter."""
        return backoff_s(self.first_s, self.max_s, self.failures + 1)

    def failed(self) -> float:
        """Count a failure; the seconds to wait before trying again."""
        self.failures += 1
        wait = backoff_s(self.first_s, self.max_s, self.failures)
        if self.jitter:
            wait *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return wait

    def wait(self, stop: threading.Event) -> bool:
        """Count a failure and wait; True if `stop` was set meanwhile."""
        return stop.wait(self.failed())

    def slowest(self) -> None:
        """Wait the longest from now on, until `reset()`: when retrying fast cannot help."""
        self.failures = max(self.failures, 64)

    def reset(self) -> None:
        self.failures = 0
