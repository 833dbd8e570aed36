"""A full disk: refused readings are counted, refused deletes are not sent again, and the
queue resumes by itself once there is space (real SQLite files, real filesystems)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.queue import AppendResult, DurableQueue
from tests.support.disk import fill, small_disk
from tests.unit.edge.test_queue import readings


def stored_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        n = int(db.execute("SELECT count(*) FROM readings").fetchone()[0])
    db.close()
    return n


def stop_growing(q: DurableQueue) -> sqlite3.Connection:
    """Deterministic on any machine: the file may not grow, which SQLite reports as it
    reports a full disk (SQLITE_FULL). `PRAGMA max_page_count=1073741823` lifts it."""
    db = q._db
    db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")
    return db


def test_appends_refused_for_lack_of_space_are_counted_and_the_queue_resumes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1_000_000)
    q.append(readings(100))
    db = stop_growing(q)
    results = [q.append(readings(500, start=1000 + 500 * i)) for i in range(4)]
    assert results[-1] == AppendResult(stored=0, dropped=0, disk_full=500)
    refused = sum(r.disk_full for r in results)
    assert q.disk_full
    assert q.dropped_by_reason == {"capacity": 0, "disk_full": refused}
    assert q.depth == stored_rows(path) == 100 + sum(r.stored for r in results)
    db.execute("PRAGMA max_page_count=1073741823")  # space is back
    assert q.append(readings(10, start=9000)) == AppendResult(10, 0)
    assert not q.disk_full
    q.close()
    # The count of refused readings was written with the first append that succeeded.
    assert DurableQueue(path, capacity=1_000_000).dropped_by_reason["disk_full"] == refused


def test_delivered_readings_whose_delete_a_full_disk_refuses_are_not_sent_again(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk", "2m") as disk:
        path = disk / "q.sqlite"
        q = DurableQueue(path, capacity=1_000_000)
        q.append(readings(3000))
        filler = fill(disk)
        for i in range(100):  # the WAL's last page may still take a few rows
            if q.append(readings(50, start=10_000 + 50 * i)).disk_full:
                break
        assert q.disk_full
        depth = q.depth
        sent = q.fetch_after(0, 1000)
        assert q.delete_ranges([(sent[0].id, sent[-1].id)]) == 1000
        assert q.pending_deletes == 1000, "the delete should have been refused"
        assert q.depth == depth - 1000
        assert stored_rows(path) == depth, "the rows are still in the file"
        # Reading the queue skips them, from the start or from inside the range.
        assert q.fetch_after(0, 5)[0].id == sent[-1].id + 1
        assert q.fetch_after(sent[10].id, 5)[0].id == sent[-1].id + 1
        # Sequence numbers go on even when their reservation cannot be written.
        seqs = [q.next_seq() for _ in range(1500)]
        assert seqs == list(range(seqs[0], seqs[0] + 1500))

        filler.unlink()  # space is back: the next write deletes them and stores again
        assert q.append(readings(10, start=50_000)).stored == 10
        assert q.pending_deletes == 0 and not q.disk_full
        assert stored_rows(path) == q.depth == depth - 1000 + 10
        q.close()


def test_the_queue_opens_on_a_full_disk_and_resumes_when_space_is_back(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        path = disk / "q.sqlite"
        q = DurableQueue(path, capacity=1_000_000)
        q.append(readings(1000))
        q.close()  # clean stop: SQLite removes the WAL and its index
        filler = fill(disk)

        q = DurableQueue(path, capacity=1_000_000)  # an agent restarted on the full disk

        assert q.depth == 1000 and q.incidents == []
        assert q.append(readings(40, start=5000)) == AppendResult(0, 0, 40)
        filler.unlink()
        assert q.append(readings(40, start=6000)).stored == 40
        assert q.depth == 1040 and q.dropped_by_reason["disk_full"] == 40
        q.close()
        assert DurableQueue(path, capacity=1_000_000).dropped_by_reason["disk_full"] == 40


def test_a_dead_letter_move_a_full_disk_refuses_waits_without_blocking_the_queue(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1_000_000)
    q.append(readings(3000))
    head = q.fetch_after(0, 1000)  # enough rows that the move needs new pages
    db = stop_growing(q)
    for i in range(50):  # fill the last free pages so that the move is refused
        if q.append(readings(200, start=1000 + 200 * i)).disk_full:
            break
    assert q.disk_full
    depth = q.depth
    assert q.dead_letter([r.id for r in head], "encode: year 0") == 1000
    assert q.depth == depth - 1000
    assert q.fetch_after(0, 1)[0].id == head[-1].id + 1, "the queue must not block behind them"
    assert q.dead_letters() == []  # not written yet
    db.execute("PRAGMA max_page_count=1073741823")  # space is back: the next write moves them
    assert q.append(readings(5, start=90_000)).stored == 5
    assert [(r.id, why) for r, why in q.dead_letters()] == [(r.id, "encode: year 0") for r in head]
    assert q.depth == stored_rows(path) == depth - 1000 + 5
    q.close()
