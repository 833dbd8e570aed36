"""Writing a batch in one transaction, idempotent on (point_id, ts).

Fast path: binary COPY straight into readings, inside a savepoint. It succeeds whenever every
reading of the batch is new, which is the normal case; the 15-minute buckets of the batch are
then marked dirty from the client side.

Slow path, when the COPY hits a (point_id, ts) already stored (a redelivery after a crash or a
reconnect, a device re-sending, the same message twice): back to the savepoint; binary COPY into
a temporary staging table; one INSERT ... SELECT ... ON CONFLICT DO NOTHING into readings (the
first value of a (point_id, ts) wins) that also marks the buckets of the rows it inserted; then
conflicts (a different value already stored) are looked up and dead-lettered.

Either way the dead letters of the batch are written in the same transaction. The caller
acknowledges the messages after the commit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psycopg

from services.ingest.batch import Batch, DeadLetter
from services.ingest.copy_format import HEADER, TRAILER
from services.ingest.decode import Rejection
from services.ingest.reasons import Reason

STAGE_DDL = """
    CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage (
        n int4 NOT NULL, point_id int4 NOT NULL, ts timestamptz NOT NULL,
        value float8 NOT NULL, quality int2 NOT NULL
    )
"""
COPY_SQL = "COPY ingest_stage (n, point_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
COPY_TYPES = ["int4", "int4", "timestamptz", "float8", "int2"]
DIRECT_COPY_SQL = "COPY readings (point_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
# Buckets travel as their index (15-minute steps since 2000-01-01 UTC): cheaper to send.
MARK_SQL = """
    INSERT INTO dirty_buckets (point_id, bucket)
    SELECT point_id, TIMESTAMPTZ '2000-01-01 00:00+00' + k * INTERVAL '15 minutes'
      FROM unnest(%b::int4[], %b::int8[]) AS d(point_id, k)
    ON CONFLICT (point_id, bucket) DO UPDATE SET marked_at = now()
"""

# Buckets follow the contract: date_bin('15 minutes', ts, '2000-01-01 00:00+00'). A bucket that
# is already dirty gets a new marked_at, so a rollup that read the old one keeps it dirty.
INSERT_SQL = """
    WITH inserted AS (
        INSERT INTO readings (point_id, ts, value, quality)
        SELECT point_id, ts, value, quality FROM ingest_stage ORDER BY n
        ON CONFLICT (point_id, ts) DO NOTHING
        RETURNING point_id, ts
    ), marked AS (
        INSERT INTO dirty_buckets (point_id, bucket)
        SELECT DISTINCT point_id,
               date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket
          FROM inserted
         ORDER BY 1, 2
        ON CONFLICT (point_id, bucket) DO UPDATE SET marked_at = now()
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


@dataclass(frozen=True)
class WriteResult:
    stored: int  # new rows in readings
    duplicates: int  # rows already stored with the same value
    conflicts: list[DeadLetter]


def prepare(conn: psycopg.Connection) -> None:
    conn.execute(STAGE_DDL)
    conn.commit()


def write_batch(conn: psycopg.Connection, batch: Batch) -> WriteResult:
    """Write and commit `batch` on `conn` (autocommit off); raises psycopg.Error on failure."""
    try:
        with conn.cursor() as cur:
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
            letters = batch.dead_letters + conflicts
            if letters:
                cur.executemany(
                    DEAD_LETTER_SQL,
                    [
                        (
                            d.topic,
                            str(d.rejection.reason),
                            d.rejection.detail,
                            d.rejection.point,
                            d.rejection.payload,
                        )
                        for d in letters
                    ],
                )
        conn.commit()
    except BaseException:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
        raise
    return WriteResult(stored, len(batch.readings) - stored - len(conflicts), conflicts)


def _copy_into_readings(cur: psycopg.Cursor, batch: Batch) -> None:
    with cur.copy(DIRECT_COPY_SQL) as copy:
        copy.write(HEADER)
        copy.write(batch.copy_rows)
        copy.write(TRAILER)


def dirty_buckets(batch: Batch) -> tuple[list[int], list[int]]:
    """The distinct (point_id, bucket index) of a batch, sorted (so upserts lock in order)."""
    ordered = sorted(batch.buckets)
    return [p for p, _ in ordered], [k for _, k in ordered]


def _mark_dirty(cur: psycopg.Cursor, batch: Batch) -> None:
    cur.execute(MARK_SQL, dirty_buckets(batch))


def _insert_new_only(cur: psycopg.Cursor, batch: Batch) -> tuple[int, list[DeadLetter]]:
    with cur.copy(COPY_SQL) as copy:
        copy.set_types(COPY_TYPES)
        write_row = copy.write_row
        for n, (point_id, r) in enumerate(zip(batch.point_ids, batch.readings, strict=True)):
            write_row((n, point_id, r.ts, r.v, r.q))
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
                batch.topics[n],
                Rejection(Reason.CONFLICT, detail, reading.to_json(), reading.point),
            )
        )
    return found
