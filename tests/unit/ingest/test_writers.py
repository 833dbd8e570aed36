"""Acknowledgement turns: batches committed out of order are acknowledged in order."""

from __future__ import annotations

import threading

from services.ingest.writers import InOrder


def test_turns_follow_the_numbering_whatever_order_the_writers_finish() -> None:
    turns = InOrder()
    abort = threading.Event()
    acked: list[int] = []

    def writer(n: int) -> None:
        assert turns.wait(n, abort)
        acked.append(n)
        turns.done(n)

    # Later batches finish first: their writers must wait for the earlier ones.
    threads = [threading.Thread(target=writer, args=(n,)) for n in (3, 2, 1, 0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert acked == [0, 1, 2, 3]


def test_a_waiting_writer_gives_up_when_aborted() -> None:
    turns = InOrder()
    abort = threading.Event()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(turns.wait(1, abort)))
    waiter.start()
    abort.set()
    waiter.join(5)
    assert result == [False]
