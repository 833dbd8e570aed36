"""The durable queue on a real SQLite file (it is the unit under test, not a fake)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.queue import DurableQueue
from edge.readings import EdgeReading


def readings(n: int, start: int = 0, point: str = "E01") -> list[EdgeReading]:
    return [EdgeReading(point, 1_700_000_000_000 + (start + i) * 1000, float(i)) for i in range(n)]


def test_append_fetch_delete_in_order(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", capacity=1000)
    q.append(readings(10))
    q.append(readings(5, start=10, point="G01"))
    rows = q.fetch_after(0, 100)
    assert [r.point for r in rows] == ["E01"] * 10 + ["G01"] * 5
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert q.fetch_after(rows[3].id, 2) == rows[4:6]
    assert q.fetch_after(0, 100, max_id=rows[2].id) == rows[:3]
    assert q.delete_ranges([(rows[0].id, rows[4].id)]) == 5
    assert q.depth == 10
    assert q.fetch_after(0, 100) == rows[5:]
    q.close()


def test_readings_survive_reopening_and_ids_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1000)
    q.append(readings(3))
    last = q.last_id()
    q.delete_range(0, last)
    q.close()  # empty now
    q = DurableQueue(path, capacity=1000)
    assert q.depth == 0
    q.append(readings(2, start=3))
    rows = q.fetch_after(0, 10)
    assert min(r.id for r in rows) > last, "a new reading must sort after every older one"
    assert [r.value for r in rows] == [0.0, 1.0] and rows[0].quality == 0
    q.close()


def test_appended_readings_are_committed_without_close(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1000)
    q.append(readings(7))
    # Another connection (as after a crash) sees them: they are committed, not buffered.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM readings").fetchone()[0] == 7
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    q.close()


def test_full_queue_drops_the_oldest_and_counts_persistently(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=10)
    q.append(readings(8))
    result = q.append(readings(5, start=8))
    assert (result.stored, result.dropped) == (5, 3)
    assert q.depth == 10 and q.dropped == 3 and q.fill == 1.0
    assert [r.ts_ms for r in q.fetch_after(0, 100)] == [
        1_700_000_000_000 + i * 1000 for i in range(3, 13)
    ]
    too_big = q.append(readings(25, start=100))  # one batch larger than the whole queue
    assert (too_big.stored, too_big.dropped) == (10, 25)
    q.close()
    assert DurableQueue(path, capacity=10).dropped == 28


def test_seq_increases_across_restarts_even_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=10)
    first = [q.next_seq() for _ in range(5)]
    assert first == [0, 1, 2, 3, 4]
    # no close(): as after kill -9
    q2 = DurableQueue(path, capacity=10)
    assert q2.next_seq() > first[-1]


def test_non_finite_values_are_refused(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", capacity=10)
    with pytest.raises(ValueError, match="not finite"):
        q.append([EdgeReading("E01", 0, float("nan"))])
    assert q.depth == 0


def test_bytes_on_disk_per_reading(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", capacity=1_000_000)
    points = [f"E{i:03d}" for i in range(200)]
    for minute in range(100):
        q.append(
            [
                EdgeReading(p, 1_795_000_000_000 + minute * 60_000, 123456.78 + minute)
                for p in points
            ]
        )
    assert q.disk_bytes() / q.depth <= 100
