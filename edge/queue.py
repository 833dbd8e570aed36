"""Durable on-disk queue of readings: SQLite in WAL mode.

A reading is committed to disk when it is appended and deleted only when its delivery is
confirmed. Rows keep the order they were read in (AUTOINCREMENT ids are never reused, so
"newer" always means "larger id", even after the queue ran empty). Capacity is a number of
readings; when full, the oldest readings are dropped and counted (the status message reports
it).

The queue keeps working when its disk or its file fails (docs/edge.md, "When the disk or the
queue file fails"): readings that a full disk refuses are counted as dropped; confirmed
readings whose delete a full disk refuses are skipped and deleted later; a damaged file is
moved aside and what can be read is salvaged into a new one; a lost file or write-ahead log is
noticed through the side file (edge/queue_sidecar.py), which also keeps `seq` going up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from edge.queue_ranges import IdRanges
from edge.queue_salvage import Salvaged, is_corruption, move_aside, rebuild_from_wal, salvage
from edge.queue_sidecar import QueueSidecar, SidecarState
from edge.readings import EdgeReading
from energywatch.errors import QueueError

log = logging.getLogger("edge.queue")

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
DropReason = Literal["capacity", "disk_full"]
DROP_REASONS: tuple[DropReason, ...] = ("capacity", "disk_full")
_DROP_KEYS: dict[DropReason, str] = {"capacity": "dropped", "disk_full": "dropped_disk_full"}
IncidentKind = Literal["corrupt", "wal_missing", "file_empty", "file_missing"]
INCIDENT_KINDS: tuple[IncidentKind, ...] = ("corrupt", "wal_missing", "file_empty", "file_missing")

T = TypeVar("T")

# What opening a WAL database on a full disk fails with (the -shm index cannot be sized).
_NO_ROOM_FOR_INDEX = (
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR_SHMSIZE,
    sqlite3.SQLITE_IOERR_SHMOPEN,
    sqlite3.SQLITE_IOERR_SHMMAP,
)


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
    disk_full: int = 0  # readings not stored because the disk is full


@dataclass(frozen=True, slots=True)
class QueueIncident:
    """Something happened to the queue's files; reported for the life of the process."""

    kind: IncidentKind
    message: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_FULL


class DurableQueue:
    """Thread-safe: drivers append from the event loop, the publisher reads and deletes."""

    def __init__(
        self,
        path: Path,
        capacity: int,
        synchronous: Synchronous = "full",
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1 reading")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.capacity = capacity
        self._synchronous = synchronous
        self._now = now
        # Re-entrant: next_seq runs a guarded write inside its own critical section.
        self._lock = threading.RLock()
        self._sidecar = QueueSidecar(path)
        self.incidents: list[QueueIncident] = []
        self.salvaged = 0  # readings copied out of damaged files since start
        self._point_ids: dict[str, int] = {}
        self._point_codes: dict[int, str] = {}
        self._depth = 0  # rows in the file, including confirmed rows not yet deleted
        self._confirmed = IdRanges()  # delivered, but the delete failed (disk full)
        self._dead_pending: dict[int, str] = {}  # dead-letter moves a full disk refused
        self._confirmed_rows = 0
        self._dropped: dict[DropReason, int] = dict.fromkeys(DROP_REASONS, 0)
        self._drops_unsaved = False
        self._disk_full = False
        self._seq_reserved = 0
        self._last_id = 0
        saved = self._sidecar.load()
        report = None
        if saved is not None:
            report = self._check_files(saved)
            self._seq_reserved, self._last_id = saved.seq_reserved, saved.last_id
        self._db = self._open_checked()
        if report is not None:
            report()
        self._load()
        self._seq = self._seq_reserved
        self.queue_id = self._meta("queue_id") or (
            saved.queue_id if saved else secrets.randbits(62)
        )
        self._write_identity()
        self._save_sidecar(open_=True)

    # -- writing -------------------------------------------------------------------------

    def append(self, readings: Sequence[EdgeReading]) -> AppendResult:
        """Commit readings to disk; drop the oldest ones first if they would not fit.

        A full disk does not raise: the readings are counted as dropped (`disk_full`).
        """
        if not readings:
            return AppendResult(0, 0)
        for r in readings:
            if not math.isfinite(r.value):
                raise ValueError(f"point {r.point}: value {r.value} is not finite")
        overflow = max(0, len(readings) - self.capacity)  # a single batch larger than the queue
        kept = readings[overflow:]
        return self._guarded(lambda: self._append(kept, overflow))

    def delete_range(self, first_id: int, last_id: int) -> int:
        """Delete the delivered readings with first_id <= id <= last_id."""
        return self.delete_ranges([(first_id, last_id)])

    def delete_ranges(self, ranges: Iterable[tuple[int, int]]) -> int:
        """Delete delivered readings; the number that left the queue.

        If the disk is full the rows stay in the file but are skipped by `fetch_after`, and
        the delete is tried again with the next append or delete.
        """
        ranges = list(ranges)
        if not ranges:
            return 0
        return self._guarded(lambda: self._delete(ranges))

    def dead_letter(self, ids: Sequence[int], reason: str) -> int:
        """Move readings the publisher cannot send out of the queue, into `dead_letters` with
        the reason (kept for inspection, never sent); the number that left the queue.

        If the disk is full the move waits, like a refused delete: the readings are skipped by
        `fetch_after` (the queue never blocks behind them) and moved with the next write.
        """
        if not ids:
            return 0
        return self._guarded(lambda: self._dead_letter(list(ids), reason))

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
                self._guarded(lambda: self._reserve(self._seq + _SEQ_BLOCK))
            seq = self._seq
            self._seq += 1
            return seq

    # -- reading -------------------------------------------------------------------------

    def fetch_after(
        self, after_id: int, limit: int, max_id: int | None = None
    ) -> list[QueuedReading]:
        """The oldest readings with id > after_id (and <= max_id if given), in queue order.

        Readings already delivered (confirmed but not yet deleted) are left out.
        """
        return self._guarded(lambda: self._fetch(after_id, limit, max_id))

    def last_id(self) -> int:
        """The id of the newest reading ever appended (0 if none)."""
        return self._last_id

    @property
    def depth(self) -> int:
        """Readings waiting for delivery."""
        return self._depth - self._confirmed_rows

    @property
    def dropped(self) -> int:
        return sum(self._dropped.values())

    @property
    def dropped_by_reason(self) -> dict[DropReason, int]:
        return dict(self._dropped)

    @property
    def disk_full(self) -> bool:
        """True while the last write was refused because the disk is full."""
        return self._disk_full

    @property
    def pending_deletes(self) -> int:
        """Delivered readings still in the file because the disk refused their delete."""
        return self._confirmed_rows

    @property
    def fill(self) -> float:
        return min(1.0, self.depth / self.capacity)

    def disk_bytes(self) -> int:
        """Bytes the queue's pages use on disk (after a checkpoint, excluding free pages)."""

        def measure() -> int:
            db = self._db
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            return int((pages - free) * page_size)

        return self._guarded(measure)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._save_sidecar(open_=False)

    # -- operations (run under the lock by _guarded) --------------------------------------

    def _append(self, readings: Sequence[EdgeReading], overflow: int) -> AppendResult:
        db = self._db
        new_points: dict[str, int] = {}
        try:
            db.execute("BEGIN IMMEDIATE")
            rows = [
                (self._point_id(db, r.point, new_points), r.ts_ms, float(r.value), int(r.quality))
                for r in readings
            ]
            depth = self._depth - self._move_dead_pending(db) - self._delete_confirmed(db)
            drop = max(0, depth + len(rows) - self.capacity)
            dropped = 0
            if drop:
                dropped = db.execute(
                    "DELETE FROM readings WHERE id IN "
                    "(SELECT id FROM readings ORDER BY id LIMIT ?)",
                    (drop,),
                ).rowcount
            if dropped + overflow or self._drops_unsaved:
                self._set_meta(db, "dropped", self._dropped["capacity"] + dropped + overflow)
                self._set_meta(db, "dropped_disk_full", self._dropped["disk_full"])
            db.executemany("INSERT INTO readings (point, ts, v, q) VALUES (?, ?, ?, ?)", rows)
            last_id = self._sequence(db)
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback(db)
            if not _is_full(exc):
                raise
            self._refused_by_full_disk("append", exc)
            self._dropped["capacity"] += overflow
            self._dropped["disk_full"] += len(readings)
            self._drops_unsaved = True
            return AppendResult(0, overflow, len(readings))
        except BaseException:
            self._rollback(db)
            raise
        for code, pid in new_points.items():
            self._point_ids[code] = pid
            self._point_codes[pid] = code
        self._deleted_confirmed()
        self._dead_pending.clear()
        self._disk_full = self._drops_unsaved = False
        self._dropped["capacity"] += dropped + overflow
        self._depth = depth - dropped + len(rows)
        self._last_id = max(self._last_id, last_id)
        return AppendResult(len(rows), dropped + overflow)

    def _dead_letter(self, ids: list[int], reason: str) -> int:
        # A delete that first copies the rows to dead_letters (_move_dead_pending): a full
        # disk defers both alike, the rows skipped by fetch_after meanwhile.
        for i in ids:
            self._dead_pending[i] = reason
        return self._delete([(i, i) for i in ids])

    def _move_dead_pending(self, db: sqlite3.Connection) -> int:
        """Inside a write transaction: readings waiting for a dead-letter move, moved."""
        by_reason: dict[str, list[int]] = {}
        for i, reason in self._dead_pending.items():
            by_reason.setdefault(reason, []).append(i)
        moved = 0
        for reason, ids in by_reason.items():
            marks = ",".join("?" * len(ids))
            db.execute(
                "INSERT OR REPLACE INTO dead_letters (id, point, ts, v, q, reason) "
                f"SELECT id, point, ts, v, q, ? FROM readings WHERE id IN ({marks})",
                (reason, *ids),
            )
            moved += db.execute(f"DELETE FROM readings WHERE id IN ({marks})", ids).rowcount
        return int(moved)

    def _delete(self, ranges: list[tuple[int, int]]) -> int:
        db = self._db
        before = self.depth
        for first, last in ranges:
            self._confirmed.add(first, last)
        try:
            db.execute("BEGIN IMMEDIATE")
            freed = self._move_dead_pending(db) + self._delete_confirmed(db)
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback(db)
            self._confirmed_rows = self._count_confirmed(db)
            if not _is_full(exc):
                raise
            self._refused_by_full_disk("delete", exc)
            return before - self.depth
        except BaseException:
            self._rollback(db)
            self._confirmed_rows = self._count_confirmed(db)
            raise
        self._depth -= freed
        self._deleted_confirmed()
        self._dead_pending.clear()
        return before - self.depth

    def _fetch(self, after_id: int, limit: int, max_id: int | None) -> list[QueuedReading]:
        sql = "SELECT id, point, ts, v, q FROM readings WHERE id > ?"
        if max_id is not None:
            sql += " AND id <= ?"
        sql += " ORDER BY id LIMIT ?"
        codes = self._point_codes
        confirmed = self._confirmed
        out: list[QueuedReading] = []
        cursor = after_id
        while len(out) < limit:
            cursor = confirmed.skip(cursor)
            want = limit - len(out)
            args = (cursor, want) if max_id is None else (cursor, max_id, want)
            rows = self._db.execute(sql, args).fetchall()
            if not confirmed:  # the usual case: one query, no filtering (replay speed)
                return [QueuedReading(i, codes[p], ts, v, q) for i, p, ts, v, q in rows]
            out += [
                QueuedReading(i, codes[p], ts, v, q)
                for i, p, ts, v, q in rows
                if i not in confirmed
            ]
            if len(rows) < want:
                break
            cursor = rows[-1][0]
        return out

    def _reserve(self, reserved: int) -> None:
        try:
            self._set_meta(self._db, "seq_reserved", reserved)
        except sqlite3.OperationalError as exc:
            if not _is_full(exc):
                raise
            # Numbers keep being handed out; the reservation is tried again at the next one.
            self._refused_by_full_disk("seq reservation", exc)
            return
        self._seq_reserved = reserved
        self._save_sidecar(open_=True)

    # -- helpers -------------------------------------------------------------------------

    def _guarded(self, op: Callable[[], T]) -> T:
        """Run op under the lock; on a damaged file, replace it and run op again."""
        with self._lock:
            try:
                return op()
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise
                log.error("queue file %s is damaged: %s", self.path, exc)
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = self._replace_damaged(str(exc))
                self._load()
                return op()

    def _connect(self) -> sqlite3.Connection:
        try:
            return self._configure(exclusive=False)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _NO_ROOM_FOR_INDEX:
                raise
            # In exclusive mode the WAL index lives in memory: the queue opens on a full disk
            # (and counts what it cannot store) instead of the agent failing at every start.
            log.error("cannot create the queue's WAL index (%s); opening it exclusively", exc)
            return self._configure(exclusive=True)

    def _configure(self, exclusive: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            if exclusive:
                db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is synced at each commit, so an appended reading survives power
            # loss; NORMAL survives a crash of the agent but may lose the last commits then.
            db.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _open_checked(self) -> sqlite3.Connection:
        """Open the queue file; if it is damaged, move it aside and salvage it first."""
        try:
            db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            problem = str(exc)
        else:
            # A damaged page shows only when read: check every page before trusting the file
            # (about 2 s for 5 million queued readings, milliseconds for a usual queue).
            try:
                result = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    db.close()
                    raise
                result = [str(exc)]
            if result == ["ok"]:
                return db
            db.close()
            problem = "; ".join(result)
        log.error("queue file %s is damaged: %s", self.path, problem)
        return self._replace_damaged(problem)

    def _replace_damaged(self, problem: str) -> sqlite3.Connection:
        try:
            aside = move_aside(self.path, self._now)
        except OSError as exc:
            raise QueueError(f"cannot move the damaged queue file {self.path} aside") from exc
        db = self._connect()
        result = self._salvage(aside, db)
        self._incident(
            "corrupt",
            f"queue file damaged ({problem}): moved aside to {aside.name}; "
            f"{result.readings} readings salvaged into a new queue, "
            "readings on damaged pages are lost",
        )
        return db

    def _check_files(self, saved: SidecarState) -> Callable[[], None] | None:
        """A queue existed (the side file says so): is its file still whole?

        Returns what to do once the new file is open: report, after copying out what an
        orphaned WAL still holds.
        """
        wal = Path(f"{self.path}-wal")
        size = self.path.stat().st_size if self.path.exists() else None
        if size is not None and size > 0:
            if saved.open and not wal.exists():
                self._incident(
                    "wal_missing",
                    f"queue write-ahead log {wal.name} is missing after an unclean stop: "
                    "readings committed since the last checkpoint are lost",
                )
            return None
        kind: IncidentKind = "file_missing" if size is None else "file_empty"
        head = (
            f"queue file {self.path.name} of queue {saved.queue_id:016x} "
            f"{'is missing' if size is None else 'is empty (zero length)'}"
        )
        seq = f"seq continues from {saved.seq_reserved}"
        # SQLite would delete the WAL of a missing or empty file: move it aside and read it.
        aside = move_aside(self.path, self._now) if wal.exists() and wal.stat().st_size else None

        def report() -> None:
            if aside is None or not rebuild_from_wal(aside):
                self._incident(kind, f"{head}: its readings are lost; {seq}")
                return
            result = self._salvage(aside, self._db)
            self._incident(
                kind,
                f"{head}: {result.readings} readings recovered from its write-ahead log "
                f"(kept as {aside.name}-wal), older ones are lost; {seq}",
            )

        return report

    def _salvage(self, aside: Path, db: sqlite3.Connection) -> Salvaged:
        """Copy what `aside` still holds into db; take over its counts (the larger ones)."""
        result = salvage(aside, db, dict(self._point_codes), self._confirmed, self._last_id)
        for reason in DROP_REASONS:
            key = _DROP_KEYS[reason]
            self._dropped[reason] = max(self._dropped[reason], result.meta.get(key, 0))
        self._seq_reserved = max(self._seq_reserved, result.meta.get("seq_reserved", 0))
        self._last_id = max(self._last_id, result.max_id)
        self._drops_unsaved = True
        self.salvaged += result.readings
        return result

    def _incident(self, kind: IncidentKind, message: str) -> None:
        log.error("%s", message)
        self.incidents.append(QueueIncident(kind, message))

    def _load(self) -> None:
        """Read the file's state into memory (at start and after a damaged file was replaced)."""
        db = self._db
        for pid, code in db.execute("SELECT id, code FROM points"):
            self._point_ids[code] = pid
            self._point_codes[pid] = code
        self._depth = int(db.execute("SELECT count(*) FROM readings").fetchone()[0])
        self._confirmed_rows = self._count_confirmed(db)
        for reason in DROP_REASONS:
            self._dropped[reason] = max(self._dropped[reason], self._meta(_DROP_KEYS[reason]))
        self._seq_reserved = max(self._seq_reserved, self._meta("seq_reserved"))
        self._last_id = max(self._last_id, self._sequence(db))

    def _write_identity(self) -> None:
        """Store identity, reservation, drop counts and newest id (all maxima) in the file."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            self._set_meta(db, "queue_id", self.queue_id)
            self._set_meta(db, "seq_reserved", self._seq_reserved)
            for reason in DROP_REASONS:
                self._set_meta(db, _DROP_KEYS[reason], self._dropped[reason])
            if (
                db.execute(
                    "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'readings'",
                    (self._last_id,),
                ).rowcount
                == 0
                and self._last_id
            ):
                db.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('readings', ?)",
                    (self._last_id,),
                )
            db.execute("COMMIT")
            self._drops_unsaved = False
        except sqlite3.OperationalError as exc:
            self._rollback(db)
            if not _is_full(exc):
                raise
            self._refused_by_full_disk("start", exc)

    def _save_sidecar(self, open_: bool) -> None:
        self._sidecar.save(
            SidecarState(self.queue_id, max(self._seq_reserved, self._seq), self._last_id, open_)
        )

    def _point_id(self, db: sqlite3.Connection, code: str, new: dict[str, int]) -> int:
        pid = self._point_ids.get(code, new.get(code))
        if pid is None:
            db.execute(
                "INSERT INTO points (code) VALUES (?) ON CONFLICT (code) DO NOTHING", (code,)
            )
            pid = int(db.execute("SELECT id FROM points WHERE code = ?", (code,)).fetchone()[0])
            new[code] = pid
        return pid

    def _delete_confirmed(self, db: sqlite3.Connection) -> int:
        return sum(
            db.execute("DELETE FROM readings WHERE id BETWEEN ? AND ?", r).rowcount
            for r in self._confirmed
        )

    def _count_confirmed(self, db: sqlite3.Connection) -> int:
        return sum(
            db.execute("SELECT count(*) FROM readings WHERE id BETWEEN ? AND ?", r).fetchone()[0]
            for r in self._confirmed
        )

    def _deleted_confirmed(self) -> None:
        if self._confirmed:
            log.info("queue: %d delivered readings deleted at last", self._confirmed_rows)
        self._confirmed.clear()
        self._confirmed_rows = 0

    def _refused_by_full_disk(self, what: str, exc: sqlite3.Error) -> None:
        if not self._disk_full:
            log.error("queue disk full (%s refused: %s); retrying with each write", what, exc)
        self._disk_full = True

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        # SQLite may already have rolled back by itself (it does on SQLITE_FULL).
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")

    @staticmethod
    def _sequence(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        return int(row[0]) if row else 0

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: int) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
