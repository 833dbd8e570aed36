"""Durable on-disk queue of readings: SQLite in WAL mode.

A reading is committed to disk when it is appended and deleted only when the broker has
acknowledged the message that carried it. Rows keep the order they were read in
(AUTOINCREMENT ids are never reused, so "newer" always means "larger id", even after the
queue ran empty). Capacity is a number of readings; when full, the oldest readings are
dropped and counted (the status message reports it).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edge.readings import EdgeReading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    point INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    v REAL NOT NULL,
    q INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    point INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    v REAL NOT NULL,
    q INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""

# A restarted agent continues from the reserved value, so seq never goes back after a crash;
# reserving in blocks keeps the write per message away.
_SEQ_BLOCK = 1000

Synchronous = Literal["full", "normal"]


@dataclass(frozen=True, slots=True)
class QueuedReading:
    id: int
    point: str
    ts_ms: int
    value: float
    quality: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    stored: int
    dropped: int  # oldest readings dropped to make room


class DurableQueue:
    """Thread-safe: drivers append from the event loop, the publisher reads and deletes."""

    def __init__(self, path: Path, capacity: int, synchronous: Synchronous = "full") -> None:
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1 reading")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.capacity = capacity
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is synced at each commit, so an appended reading survives power loss;
        # NORMAL survives a crash of the agent but may lose the last commits on power loss.
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.executescript(_SCHEMA)
        self._point_ids: dict[str, int] = {}
        self._point_codes: dict[int, str] = {}
        for pid, code in self._db.execute("SELECT id, code FROM points"):
            self._point_ids[code] = pid
            self._point_codes[pid] = code
        self._depth = int(self._db.execute("SELECT count(*) FROM readings").fetchone()[0])
        self._dropped = self._meta("dropped")
        self._seq = self._meta("seq_reserved")
        self._seq_reserved = self._seq

    # -- writing -------------------------------------------------------------------------

    def append(self, readings: Sequence[EdgeReading]) -> AppendResult:
        """Commit readings to disk; drop the oldest ones first if they would not fit."""
        if not readings:
            return AppendResult(0, 0)
        rows = []
        for r in readings:
            if not math.isfinite(r.value):
                raise ValueError(f"point {r.point}: value {r.value} is not finite")
            rows.append((self._point_id(r.point), r.ts_ms, float(r.value), int(r.quality)))
        overflow = max(0, len(rows) - self.capacity)  # a single batch larger than the queue
        rows = rows[overflow:]
        with self._lock:
            drop = max(0, self._depth + len(rows) - self.capacity)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                dropped = 0
                if drop:
                    dropped = self._db.execute(
                        "DELETE FROM readings WHERE id IN "
                        "(SELECT id FROM readings ORDER BY id LIMIT ?)",
                        (drop,),
                    ).rowcount
                lost = dropped + overflow
                if lost:
                    self._set_meta("dropped", self._dropped + lost)
                self._db.executemany(
                    "INSERT INTO readings (point, ts, v, q) VALUES (?, ?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._dropped += lost
            self._depth += len(rows) - dropped
            return AppendResult(len(rows), lost)

    def delete_range(self, first_id: int, last_id: int) -> int:
        """Delete the acknowledged readings with first_id <= id <= last_id."""
        with self._lock:
            n = self._db.execute(
                "DELETE FROM readings WHERE id BETWEEN ? AND ?", (first_id, last_id)
            ).rowcount
            self._depth -= n
            return int(n)

    def delete_ranges(self, ranges: Iterable[tuple[int, int]]) -> int:
        ranges = list(ranges)
        if not ranges:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                n = 0
                for first, last in ranges:
                    n += self._db.execute(
                        "DELETE FROM readings WHERE id BETWEEN ? AND ?", (first, last)
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth -= n
            return n

    def dead_letter(self, ids: Sequence[int], reason: str) -> int:
        """Move readings the publisher cannot send out of the queue, into `dead_letters` with
        the reason (kept for inspection, never sent); the number moved."""
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead_letters (id, point, ts, v, q, reason) "
                    f"SELECT id, point, ts, v, q, ? FROM readings WHERE id IN ({marks})",
                    (reason, *ids),
                )
                n = self._db.execute(f"DELETE FROM readings WHERE id IN ({marks})", ids).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth -= n
            return int(n)

    def dead_letters(self) -> list[tuple[QueuedReading, str]]:
        """The readings moved out by `dead_letter`, oldest first, with their reason."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, point, ts, v, q, reason FROM dead_letters ORDER BY id"
            ).fetchall()
            codes = self._point_codes
            return [(QueuedReading(i, codes[p], ts, v, q), why) for i, p, ts, v, q, why in rows]

    def next_seq(self) -> int:
        """The next per-device message sequence number (increasing across restarts)."""
        with self._lock:
            if self._seq >= self._seq_reserved:
                self._seq_reserved = self._seq + _SEQ_BLOCK
                self._set_meta("seq_reserved", self._seq_reserved)
            seq = self._seq
            self._seq += 1
            return seq

    # -- reading -------------------------------------------------------------------------

    def fetch_after(
        self, after_id: int, limit: int, max_id: int | None = None
    ) -> list[QueuedReading]:
        """The oldest readings with id > after_id (and <= max_id if given), in queue order."""
        sql = "SELECT id, point, ts, v, q FROM readings WHERE id > ?"
        args: tuple[int, ...] = (after_id,)
        if max_id is not None:
            sql += " AND id <= ?"
            args = (after_id, max_id)
        sql += " ORDER BY id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
            codes = self._point_codes
            return [QueuedReading(i, codes[p], ts, v, q) for i, p, ts, v, q in rows]

    def last_id(self) -> int:
        """The id of the newest reading ever appended (0 if none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'readings'"
            ).fetchone()
            return int(row[0]) if row else 0

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def fill(self) -> float:
        return min(1.0, self._depth / self.capacity)

    def disk_bytes(self) -> int:
        """Bytes the queue's pages use on disk (after a checkpoint, excluding free pages)."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
            return int((pages - free) * page_size)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- helpers -------------------------------------------------------------------------

    def _point_id(self, code: str) -> int:
        pid = self._point_ids.get(code)
        if pid is None:
            with self._lock:
                self._db.execute(
                    "INSERT INTO points (code) VALUES (?) ON CONFLICT (code) DO NOTHING", (code,)
                )
                pid = int(
                    self._db.execute("SELECT id FROM points WHERE code = ?", (code,)).fetchone()[0]
                )
                self._point_ids[code] = pid
                self._point_codes[pid] = code
        return pid

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
