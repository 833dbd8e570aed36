"""Writing a batch in one transaction, idempotent on (point_id, ts).

Fast path: binary COPY straight into readings, inside a savepoint. It succeeds whenever every
reading of the batch is new, which is the normal case; the 15-minute buckets of the batch,
computed on the client side, then go into the dirty-bucket log as one row
(energywatch/storage/dirty_marks.py).

Slow path, when the COPY hits a (point_id, ts) already stored (a redelivery after a crash or a
reconnect, a device re-sending, the same message twice): back to the savepoint; binary COPY into
a temporary staging table; one INSERT ... SELECT ... ON CONFLICT DO NOTHING into readings (the
first value of a (point_id, ts) wins) that also logs the buckets of the rows it inserted; then
conflicts (a different value already stored) are looked up and dead-lettered.

Either way the dead letters of the batch are written in the same transaction, and so is the
NOTIFY that tells alerting which points got readings (energywatch/storage/changes.py: delivered
on commit, never for a rolled-back batch). The caller acknowledges the messages after the commit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psycopg

from energywatch.storage.binary_copy import HEADER, TRAILER
from energywatch.storage.changes import READINGS_CHANNEL, announce
from energywatch.storage.dirty_marks import log_batch
from services.ingest.batch import Batch, DeadLetter
from services.ingest.copy_format import dirty_buckets, encode_rows
from services.ingest.decode import Rejection
from services.ingest.reasons import Reason

STAGE_DDL = """
    CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage (
        n int4 NOT NULL, point_id int4 NOT NULL, ts timestamptz NOT NULL,
        value float8 NOT NULL, quality int2 NOT NULL
    )
"""
COPY_SQL = "COPY ingest_stage (n, point_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
DIRECT_COPY_SQL = "COPY readings (point_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
# Buckets follow the contract: date_bin('15 minutes', ts, '2000-01-01 00:00+00'), logged by index.
INSERT_SQL = """
    WITH inserted AS (
        INSERT INTO readings (point_id, ts, value, quality)
        SELECT point_id, ts, value, quality FROM ingest_stage ORDER BY n
        ON CONFLICT (point_id, ts) DO NOTHING
        RETURNING point_id, ts
    ), touched AS (
        SELECT DISTINCT point_id,
               floor(extract(epoch FROM ts - TIMESTAMPTZ '2000-01-01 00:00+00') / 900)::int4 AS k
          FROM inserted
    ), logged AS (
        INSERT INTO dirty_bucket_log (point_ids, buckets)
        SELECT array_agg(point_id ORDER BY point_id, k), array_agg(k ORDER BY point_id, k)
          FROM touched HAVING count(*) > 0
    )
    SELECT count(*) FROM inserted
"""
CONFLICTS_SQL = """
    SELECT s.n, r.value FROM ingest_stage s
      JOIN readings r ON r.point_id = s.point_id AND r.ts = s.ts
     WHERE r.value <> s.value
     ORDER BY s.n
"""
DEAD_LETTER_SQL = """
    INSERT INTO dead_letters (topic, reason, detail, point, payload) VALUES (%s, %s, %s, %s, %s)
"""


def storable_text(text: str) -> str:
    """`text` as PostgreSQL can store it in a text column.

    A device's string may hold what text cannot: NUL (refused by PostgreSQL) and lone
    surrogates from JSON escapes such as "\\udc00" (not encodable as UTF-8). Both are written
    as backslash escapes, so the dead letter still shows what arrived and the message can never
    wedge the writer.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


@dataclass(frozen=True)
class WriteResult:
    stored: int  # new rows in readings
    duplicates: int  # rows already stored with the same value
    conflicts: list[DeadLetter]


def prepare(conn: psycopg.Connection) -> None:
    conn.execute(STAGE_DDL)
    conn.commit()


def write_batch(conn: psycopg.Connection, batch: Batch) -> WriteResult:
    """Write and commit `batch` on `conn` (autocommit off); raises psycopg.Error on failure.

    Everything of the batch (readings, dirty-bucket log row, dead letters) commits in one
    transaction: stored readings without their bucket marks would never be rolled up, since a
    redelivery finds them already stored and marks nothing.
    """
    try:
        # The outer block is the batch's transaction; the inner one, opened while it is in
        # progress, is a savepoint. (On an idle connection a lone `conn.transaction()` is a
        # top-level transaction of its own and commits when the block ends.)
        with conn.transaction(), conn.cursor() as cur:
            conflicts: list[DeadLetter] = []
            stored = 0
            if batch.readings:
                try:
                    with conn.transaction():
                        _copy_into_readings(cur, batch)
                    _mark_dirty(cur, batch)
                    stored = len(batch.readings)
                except psycopg.errors.UniqueViolation:
                    stored, conflicts = _insert_new_only(cur, batch)
                if stored:
                    # Every point of the batch, also one whose readings were all duplicates
                    # (slow path): a listener that re-evaluates an unchanged point loses
                    # nothing, and the fast path needs no extra query to know.
                    announce(cur, READINGS_CHANNEL, batch.point_ids)
            letters = batch.dead_letters + conflicts
            if letters:
                cur.executemany(
                    DEAD_LETTER_SQL,
                    [
                        (
                            storable_text(d.topic),
                            str(d.rejection.reason),
                            storable_text(d.rejection.detail),
                            None if d.rejection.point is None else storable_text(d.rejection.point),
                            storable_text(d.rejection.payload),
                        )
                        for d in letters
                    ],
                )
    except BaseException:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
        raise
    return WriteResult(stored, len(batch.readings) - stored - len(conflicts), conflicts)


def _copy(cur: psycopg.Cursor, sql: str, batch: Batch, *, numbered: bool = False) -> None:
    rows = encode_rows(
        batch.point_ids, batch.ts_us, batch.values, batch.qualities, numbered=numbered
    )
    with cur.copy(sql) as copy:
        copy.write(HEADER + rows + TRAILER)


def _copy_into_readings(cur: psycopg.Cursor, batch: Batch) -> None:
    _copy(cur, DIRECT_COPY_SQL, batch)


def _mark_dirty(cur: psycopg.Cursor, batch: Batch) -> None:
    log_batch(cur, *dirty_buckets(batch.point_ids, batch.ts_us))


def _insert_new_only(cur: psycopg.Cursor, batch: Batch) -> tuple[int, list[DeadLetter]]:
    _copy(cur, COPY_SQL, batch, numbered=True)
    row = cur.execute(INSERT_SQL).fetchone()
    stored = int(row[0]) if row else 0
    conflicts = _conflicts(cur, batch) if stored < len(batch.readings) else []
    cur.execute("TRUNCATE ingest_stage")
    return stored, conflicts


def _conflicts(cur: psycopg.Cursor, batch: Batch) -> list[DeadLetter]:
    found = []
    for n, kept in cur.execute(CONFLICTS_SQL):
        reading = batch.readings[n]
        detail = (
            f"point {reading.point!r} at {reading.ts.isoformat()} already has value {kept!r};"
            f" {reading.v!r} refused"
        )
        found.append(
            DeadLetter(
                batch.topic_of(n),
                Rejection(Reason.CONFLICT, detail, reading.to_json(), reading.point),
            )
        )
    return found
