"""The one backoff: doubling waits, capped, spread by jitter, reset when it works again."""

from __future__ import annotations

import threading

from energywatch.backoff import Backoff, backoff_s


def test_waits_double_up_to_the_cap_and_reset() -> None:
    backoff = Backoff(0.5, 4.0)
    assert backoff.next_s == 0.5
    assert [backoff.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.failed() == 0.5


def test_slowest_waits_the_cap_until_reset() -> None:
    backoff = Backoff(0.5, 60.0)
    backoff.slowest()
    assert backoff.failed() == 60.0
    backoff.reset()
    assert backoff.failed() == 0.5


def test_jitter_stays_within_its_share() -> None:
    backoff = Backoff(10.0, 10.0, jitter=0.2)
    waits = [backoff.failed() for _ in range(200)]
    assert all(8.0 <= w <= 12.0 for w in waits)
    assert len(set(waits)) > 1


def test_wait_returns_at_once_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    assert Backoff(30.0, 60.0).wait(stop) is True


def test_schedule_of_attempts() -> None:
    assert [backoff_s(2, 60, n) for n in (1, 2, 3, 6, 9)] == [2, 4, 8, 60, 60]
