"""wait_until returns as soon as its condition holds and fails naming it; holds_for fails at
the first moment its condition stops holding."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.waiting import holds_for, wait_until


def test_wait_until_returns_once_the_condition_holds() -> None:
    calls = itertools.count()
    started = time.monotonic()
    wait_until(lambda: next(calls) >= 3, 10, "the third call", poll_s=0.01)
    assert time.monotonic() - started < 1


def test_wait_until_fails_after_its_timeout_naming_what_it_waited_for() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match="waiting for the impossible; 7 left"):
        wait_until(lambda: False, 0.2, "the impossible", poll_s=0.01, detail=lambda: "7 left")
    assert 0.2 <= time.monotonic() - started < 2


def test_holds_for_watches_the_whole_duration() -> None:
    started = time.monotonic()
    holds_for(lambda: True, 0.2, "always", poll_s=0.01)
    assert time.monotonic() - started >= 0.2


def test_holds_for_fails_when_the_condition_stops_holding() -> None:
    calls = itertools.count()
    with pytest.raises(AssertionError, match="no longer true: quiet"):
        holds_for(lambda: next(calls) < 3, 10, "quiet", poll_s=0.01)
