"""A damaged queue file is moved aside, what SQLite can read is salvaged into a new queue,
and the loss is reported (real SQLite files, damaged on disk)."""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.queue import DurableQueue
from tests.unit.edge.test_queue import readings

PAGE = 4096
NOW = datetime(2026, 12, 5, 21, 0, 7, tzinfo=UTC)


def queue_of(path: Path, n: int) -> tuple[int, int]:
    """A closed queue of n readings on disk; (newest id, last seq handed out)."""
    q = DurableQueue(path, capacity=1_000_000)
    for start in range(0, n, 1000):
        q.append(readings(1000, start=start))
    seq = [q.next_seq() for _ in range(3)][-1]
    last = q.last_id()
    q.close()  # checkpoints: every page is in the main file
    return last, seq


def garbage_page(path: Path, page: int) -> None:
    with open(path, "r+b") as f:
        f.seek(page * PAGE)
        f.write(random.Random(page).randbytes(PAGE))


def truncate_half(path: Path, page: int) -> None:
    os.truncate(path, path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [garbage_page, truncate_half], ids=["garbage", "truncated"])
def test_damaged_file_at_start_is_moved_aside_salvaged_and_reported(
    tmp_path: Path, damage: object
) -> None:
    path = tmp_path / "q.sqlite"
    last, seq = queue_of(path, 20_000)
    pages = path.stat().st_size // PAGE
    damage(path, pages // 2)  # type: ignore[operator]

    q = DurableQueue(path, capacity=1_000_000, now=lambda: NOW)

    aside = tmp_path / "q.sqlite.corrupt-20261205T210007Z"
    assert aside.exists(), sorted(p.name for p in tmp_path.iterdir())
    assert 5_000 < q.salvaged < 20_000  # some rows were on the damaged pages
    assert q.depth == q.salvaged
    [incident] = q.incidents
    assert incident.kind == "corrupt"
    assert aside.name in incident.message
    assert f"{q.salvaged} readings salvaged" in incident.message
    rows = q.fetch_after(0, 30_000)
    assert [r.id for r in rows] == sorted({r.id for r in rows})
    assert all(r.point == "E01" and r.ts_ms == 1_700_000_000_000 + (r.id - 1) * 1000 for r in rows)
    # The new queue goes on: new ids after every old one, seq never back.
    assert q.append(readings(5, start=99_000)).stored == 5
    assert q.fetch_after(last, 10)[0].id == last + 1
    assert q.next_seq() > seq
    q.close()
    reopened = DurableQueue(path, capacity=1_000_000)
    assert reopened.incidents == [] and reopened.depth == q.depth
    reopened.close()


def test_damage_found_while_running_is_recovered_inside_the_operation(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1_000_000, now=lambda: NOW)
    for start in range(0, 20_000, 1000):
        q.append(readings(1000, start=start))
    q.disk_bytes()  # checkpoint: the pages are in the main file
    garbage_page(path, (path.stat().st_size // PAGE) // 2)
    # Another writer makes the queue's connection drop its page cache, as after any change
    # of the file it did not make itself.
    with sqlite3.connect(path) as other:
        other.execute("INSERT INTO meta (key, value) VALUES ('touch', 1)")
    other.close()

    rows = q.fetch_after(0, 30_000)

    assert q.incidents and q.incidents[0].kind == "corrupt"
    assert (tmp_path / "q.sqlite.corrupt-20261205T210007Z").exists()
    assert len(rows) == q.salvaged == q.depth and 5_000 < len(rows) < 20_000
    assert q.append(readings(3, start=50_000)).stored == 3
    q.close()


def test_a_file_that_is_not_a_database_at_all_gives_an_empty_queue_and_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    queue_of(path, 2000)
    garbage_page(path, 0)  # the header and the schema are gone
    q = DurableQueue(path, capacity=1_000_000, now=lambda: NOW)
    assert q.depth == 0 and q.salvaged == 0
    assert "0 readings salvaged" in q.incidents[0].message
    assert q.append(readings(3)).stored == 3
    q.close()


def test_dead_letters_of_a_damaged_file_are_salvaged(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, capacity=1_000_000)
    q.append(readings(2000))
    bad = q.fetch_after(0, 2)
    q.dead_letter([r.id for r in bad], "broker refused: payload too large")
    q.close()
    truncate_half(path, 0)

    q = DurableQueue(path, capacity=1_000_000, now=lambda: NOW)
    assert q.incidents and q.incidents[0].kind == "corrupt"
    assert [(r.id, r.point, why) for r, why in q.dead_letters()] == [
        (r.id, r.point, "broker refused: payload too large") for r in bad
    ]
    q.close()
