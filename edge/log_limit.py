"""Warnings that may repeat many times a second, logged at most once an interval per key.

A broker that is away or a logger that sends garbage would otherwise fill the disk with the same
line (a reconnect loop wrote 33 MB in minutes). The first occurrence is logged at once; later
ones within `interval_s` are counted, and the next line logged for that key says how many were
left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """Log `msg % args` unless `key` was logged less than an interval ago; True if logged."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            left_out = self._suppressed.pop(key, 0)
        if left_out:
            msg += " (%d similar warnings left out in the last %.0f s)"
            args = (*args, left_out, self.interval_s)
        self.logger.warning(msg, *args)
        return True
