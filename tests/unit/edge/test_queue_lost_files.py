"""A queue file or write-ahead log that vanished or was emptied is reported, never silent,
and the sequence number goes on from the side file (real files; the writer is a real process
killed without closing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.queue import DurableQueue

REPO = Path(__file__).resolve().parents[3]

KILLED_WRITER = """
import os, sys
from pathlib import Path
from edge.queue import DurableQueue
from edge.readings import EdgeReading
q = DurableQueue(Path(sys.argv[1]), capacity=1_000_000)
q.append([EdgeReading("E01", 1_700_000_000_000 + i * 1000, 1.0) for i in range(8000)])
print(max(q.next_seq() for _ in range(1200)))
os._exit(0)  # as kill -9: no close, the WAL stays
"""


def killed_writer(path: Path) -> int:
    """Queue 8,000 readings and hand out 1,200 seq numbers, then die; the last seq."""
    out = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def remove(path: Path, *suffixes: str) -> None:
    for suffix in suffixes:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_a_deleted_wal_after_an_unclean_stop_is_reported_and_seq_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    last_seq = killed_writer(path)
    remove(path, "-wal", "-shm")  # the WAL held all 8,000 readings (no checkpoint yet)

    q = DurableQueue(path, capacity=1_000_000)

    assert q.depth == 0  # gone...
    [incident] = q.incidents  # ...and said so
    assert incident.kind == "wal_missing"
    assert "q.sqlite-wal is missing" in incident.message
    assert q.next_seq() > last_seq
    q.close()


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_an_emptied_or_deleted_queue_file_is_reported_and_seq_goes_on(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "q.sqlite"
    last_seq = killed_writer(path)
    if how == "empty":
        os.truncate(path, 0)
    else:
        remove(path, "")

    q = DurableQueue(path, capacity=1_000_000)

    # SQLite would have deleted the orphaned WAL; it was kept aside and read instead.
    assert q.depth == q.salvaged == 8000
    [incident] = q.incidents
    assert incident.kind == {"empty": "file_empty", "missing": "file_missing"}[how]
    assert "8000 readings recovered from its write-ahead log" in incident.message
    [aside] = tmp_path.glob("q.sqlite.corrupt-*-wal")
    assert aside.name in incident.message
    assert [r.ts_ms for r in q.fetch_after(0, 10_000)] == [
        1_700_000_000_000 + i * 1000 for i in range(8000)
    ]
    assert q.next_seq() > last_seq
    q.close()


def test_an_emptied_file_without_its_wal_is_reported_and_seq_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    last_seq = killed_writer(path)
    os.truncate(path, 0)
    remove(path, "-wal", "-shm")

    q = DurableQueue(path, capacity=1_000_000)

    assert q.depth == 0
    [incident] = q.incidents
    assert incident.kind == "file_empty"
    assert "is empty (zero length): its readings are lost" in incident.message
    assert q.next_seq() > last_seq
    q.close()


def test_normal_stops_and_crashes_raise_no_alarm(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    killed_writer(path)  # unclean stop, WAL there: replayed, nothing lost
    q = DurableQueue(path, capacity=1_000_000)
    assert (q.depth, q.incidents) == (8000, [])
    q.close()  # clean stop: SQLite removes the WAL itself
    assert not Path(f"{path}-wal").exists()
    q = DurableQueue(path, capacity=1_000_000)
    assert (q.depth, q.incidents) == (8000, [])
    q.close()
