"""A damaged queue file: move it aside and copy what SQLite can still read into a new one.

SQLite reports a damaged page only when a query touches it, so the readings are read by
ranges of row ids, stepping over the ranges that fail (see `_scan`).
Rows keep their ids (the publisher's cursor and the messages in flight stay valid); rows that
do not look like readings are left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from edge.queue_ranges import IdRanges

log = logging.getLogger("edge.queue")

_CHUNK = 4096  # ids read per query while the file reads cleanly
_SUFFIXES = ("", "-wal", "-shm")

Row = tuple[int, int, int, float, int]


@dataclass
class Salvaged:
    readings: int = 0
    dead_letters: int = 0
    max_id: int = 0
    meta: dict[str, int] = field(default_factory=dict)


def is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def move_aside(path: Path, now: Callable[[], datetime]) -> Path:
    """Rename the queue file and its -wal/-shm to `<name>.corrupt-<UTC time>`; the new name."""
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in _SUFFIXES):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    for suffix in _SUFFIXES:
        src = Path(f"{path}{suffix}")
        if src.exists():
            src.rename(f"{aside}{suffix}")
    return aside


_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER, _FRAME_HEADER = 32, 24


def rebuild_from_wal(aside: Path) -> bool:
    """Give a WAL whose database file was lost or emptied a file to belong to.

    The file is made as long as the WAL's last commit says, all zeros (sparse): SQLite then
    reads every page the WAL holds, and the pages it does not hold read as damaged, which
    `salvage` steps over. False if the WAL is not one.
    """
    wal = Path(f"{aside}-wal")
    try:
        with open(wal, "rb") as f:
            header = f.read(_WAL_HEADER)
            magic, _, page_size = struct.unpack(">III", header[:12])
            if magic not in _WAL_MAGIC or page_size & (page_size - 1) or page_size < 512:
                return False
            pages = 0
            while len(frame := f.read(_FRAME_HEADER)) == _FRAME_HEADER:
                if frame[8:16] != header[16:24]:
                    break  # a frame left from before the WAL was last restarted
                pages = struct.unpack(">I", frame[4:8])[0] or pages  # set on commit frames
                f.seek(page_size, os.SEEK_CUR)
        if pages == 0:
            return False
        with open(aside, "ab") as f:
            f.truncate(pages * page_size)
    except (OSError, struct.error) as exc:
        log.error("cannot read the orphaned write-ahead log %s: %s", wal, exc)
        return False
    return True


def salvage(
    source: Path,
    into: sqlite3.Connection,
    known_points: dict[int, str],
    skip: IdRanges,
    id_hint: int,
) -> Salvaged:
    """Copy the readable readings of `source` (read-only) into the open queue `into`.

    `known_points` supplements a damaged points table; ids in `skip` are not copied (their
    delivery is already confirmed); `id_hint` bounds the id scan when the file cannot say.
    """
    out = Salvaged()
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        log.error("cannot open the damaged queue %s: %s", source, exc)
        src = sqlite3.connect(":memory:")  # reads nothing; the known points still go in
    with contextlib.closing(src):
        # Lets SQLite read a file shorter than its header says (truncated) instead of refusing
        # it whole; nothing is written through this read-only connection.
        src.execute("PRAGMA writable_schema=ON")
        points = {**_read_points(src), **known_points}
        out.meta = _read_meta(src)
        lo, hi = _id_bounds(src, id_hint) if _readings_readable(src) else (1, 0)
        into.execute("BEGIN IMMEDIATE")
        try:
            # Known codes go in even if no reading is readable: later rows may refer to them.
            into.executemany(
                "INSERT OR IGNORE INTO points (id, code) VALUES (?, ?)", sorted(points.items())
            )
            for rows in _scan(src, lo, hi):
                good = [r for r in rows if r[1] in points]
                if skip:
                    good = [r for r in good if r[0] not in skip]
                into.executemany(
                    "INSERT INTO readings (id, point, ts, v, q) VALUES (?, ?, ?, ?, ?)", good
                )
                out.readings += len(good)
            out.dead_letters = _copy_dead_letters(src, into)
            into.execute("COMMIT")
            out.max_id = hi
        except BaseException:
            if into.in_transaction:
                into.execute("ROLLBACK")
            raise
    return out


def _copy_dead_letters(src: sqlite3.Connection, into: sqlite3.Connection) -> int:
    """The dead letters of a damaged file, if SQLite can read them whole; they are kept for
    inspection only, so a damaged table is reported and left behind in the moved-aside file."""
    try:
        rows = src.execute("SELECT id, point, ts, v, q, reason FROM dead_letters").fetchall()
    except sqlite3.DatabaseError as exc:
        log.warning("dead letters of the damaged queue not copied: %s", exc)
        return 0
    into.executemany(
        "INSERT OR IGNORE INTO dead_letters (id, point, ts, v, q, reason)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def _scan(db: sqlite3.Connection, lo: int, hi: int) -> Iterator[list[Row]]:
    """Every row of ids lo..hi that SQLite can read, in id order, a chunk at a time.

    Chunks that read cleanly cost one query. In a chunk that fails, the readable prefix is
    found by bisection and the end of the damaged run by galloping, so a run of n lost ids
    costs O(log n) queries, not n (a truncated file can lose millions).
    """
    cursor = lo
    while cursor <= hi:
        end = min(hi, cursor + _CHUNK - 1)
        rows = _try_read(db, cursor, end)
        if rows is not None:
            yield rows
            cursor = end + 1
            continue
        # [cursor, good] reads, [cursor, bad] does not
        good, bad = _edge(cursor - 1, end, partial(_reads_from, db, cursor))
        if good >= cursor:
            yield _try_read(db, cursor, good) or []
        cursor = _after_damage(db, bad, hi)


def _after_damage(db: sqlite3.Connection, bad: int, hi: int) -> int:
    """An id after the unreadable id `bad` that reads again (hi + 1 if none is found)."""
    step = 1
    while bad + step <= hi and _try_read(db, bad + step, bad + step) is None:
        bad += step
        step *= 2
    if bad + step > hi:
        if _try_read(db, hi, hi) is None:
            return hi + 1
        step = hi - bad
    return _edge(bad, bad + step, lambda m: _try_read(db, m, m) is None)[1]


def _reads_from(db: sqlite3.Connection, first: int, last: int) -> bool:
    return _try_read(db, first, last) is not None


def _edge(a: int, b: int, like_a: Callable[[int], bool]) -> tuple[int, int]:
    """Bisect a..b (like_a holds at a, not at b) down to neighbours where it changes."""
    while b - a > 1:
        mid = (a + b) // 2
        if like_a(mid):
            a = mid
        else:
            b = mid
    return a, b


# Rows that do not look like readings are garbage that happened to parse; a row stamped at
# the epoch is zeroed bytes (the tail of a truncated page). Checked here, not in Python: the
# copy runs at SQLite's speed.
_READ = """
SELECT id, point, ts, v, q FROM readings
WHERE id BETWEEN ? AND ?
  AND typeof(point) = 'integer' AND typeof(ts) = 'integer' AND ts > 0
  AND typeof(v) = 'real' AND abs(v) <= 1.7976931348623157e308 AND typeof(q) = 'integer'
ORDER BY id
"""


def _try_read(db: sqlite3.Connection, lo: int, hi: int) -> list[Row] | None:
    try:
        return db.execute(_READ, (lo, hi)).fetchall()
    except sqlite3.DatabaseError:
        return None


def _readings_readable(db: sqlite3.Connection) -> bool:
    """False if not even the table can be found (header or schema page destroyed): then
    splitting ranges would only fail row by row."""
    try:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'readings'").fetchall()
    except sqlite3.DatabaseError as exc:
        log.error("no reading can be read from the damaged queue: %s", exc)
        return False
    return bool(found)


def _id_bounds(db: sqlite3.Connection, id_hint: int) -> tuple[int, int]:
    lo, hi = 1, id_hint
    with contextlib.suppress(sqlite3.DatabaseError):
        first = db.execute("SELECT min(id) FROM readings").fetchone()[0]
        lo = int(first) if first is not None else lo
    for sql in (
        "SELECT max(id) FROM readings",
        "SELECT seq FROM sqlite_sequence WHERE name = 'readings'",
    ):
        with contextlib.suppress(sqlite3.DatabaseError, TypeError):
            value = db.execute(sql).fetchone()
            if value and value[0] is not None:
                hi = max(hi, int(value[0]))
    return max(1, lo), hi


def _read_points(db: sqlite3.Connection) -> dict[int, str]:
    rows: list[tuple[int, str]] = []
    with contextlib.suppress(sqlite3.DatabaseError):
        rows = db.execute("SELECT id, code FROM points").fetchall()
    return {pid: code for pid, code in rows if isinstance(pid, int) and isinstance(code, str)}


def _read_meta(db: sqlite3.Connection) -> dict[str, int]:
    rows: list[tuple[str, int]] = []
    with contextlib.suppress(sqlite3.DatabaseError):
        rows = db.execute("SELECT key, value FROM meta").fetchall()
    return {k: v for k, v in rows if isinstance(k, str) and isinstance(v, int)}
