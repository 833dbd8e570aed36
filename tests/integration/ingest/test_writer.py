"""The writer's two paths against a real database: COPY straight in, or staged when keys exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchmarks.support.registry_rows import register
from energywatch.storage.dirty_marks import fold, try_lock
from services.ingest.batch import Batch, Delivery
from services.ingest.copy_format import bucket_index, pg_microseconds
from services.ingest.decode import Rejection, Row
from services.ingest.reasons import Reason
from services.ingest.writer import prepare, write_batch

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def batch(rows: list[tuple[int, int, float]]) -> Batch:
    """rows: (point_id, minute, value)."""
    b = Batch(0.0)
    readings = [Row(f"E{pid}", T0 + timedelta(minutes=m), v) for pid, m, v in rows]
    b.add(Delivery(1, 1, 1), "ew/v1/S1/D1/readings", [pid for pid, _, _ in rows], readings, [])
    return b


def test_new_duplicate_and_conflicting_rows_in_one_batch(db_url: str) -> None:
    ids = list(register(db_url, "S1", "D1", ["E1", "E2"]).values())
    a, b = ids
    with psycopg.connect(db_url) as conn:
        prepare(conn)
        first = write_batch(conn, batch([(a, 0, 1.0), (a, 1, 2.0)]))
        assert (first.stored, first.duplicates, first.conflicts) == (2, 0, [])
        assert conn.execute("SELECT point_ids, buckets FROM dirty_bucket_log").fetchall() == [
            ([a], [bucket_index(pg_microseconds(T0))])
        ]
        conn.execute("DELETE FROM dirty_bucket_log")
        conn.commit()
        # a@0 again (same value), a@1 with another value, b@20 new: the slow path.
        second = write_batch(conn, batch([(a, 0, 1.0), (a, 1, 9.0), (b, 20, 3.0)]))
        assert (second.stored, second.duplicates) == (1, 1)
        assert [c.rejection.reason for c in second.conflicts] == [Reason.CONFLICT]
        assert conn.execute(
            "SELECT point_id, ts, value FROM readings ORDER BY point_id, ts"
        ).fetchall() == [
            (a, T0, 1.0),
            (a, T0 + timedelta(minutes=1), 2.0),
            (b, T0 + timedelta(minutes=20), 3.0),
        ]
        # Only the bucket of the new row is logged; the conflict is a dead letter.
        assert fold(conn) == 1
        assert conn.execute("SELECT point_id, bucket FROM dirty_buckets").fetchall() == [
            (b, T0 + timedelta(minutes=15))
        ]
        assert conn.execute("SELECT reason, point FROM dead_letters").fetchall() == [
            ("conflict", "E1")
        ]
        # The staging table is left empty for the next batch, which takes the fast path again.
        third = write_batch(conn, batch([(b, 21, 4.0)]))
        assert third.stored == 1
        assert conn.execute("SELECT count(*) FROM ingest_stage").fetchone() == (0,)


def test_a_mark_read_before_a_new_reading_changes_version(db_url: str) -> None:
    """The rollup keeps a bucket dirty when a reading marked it again during its pass."""
    (a,) = register(db_url, "S1", "D1", ["E1"]).values()
    with psycopg.connect(db_url) as conn:
        prepare(conn)
        write_batch(conn, batch([(a, 0, 1.0)]))
        fold(conn)
        version = conn.execute("SELECT xmin::text FROM dirty_buckets").fetchone()
        conn.commit()
        write_batch(conn, batch([(a, 1, 2.0)]))  # same bucket
        assert conn.execute("SELECT xmin::text FROM dirty_buckets").fetchone() == version
        fold(conn)
        assert conn.execute("SELECT xmin::text FROM dirty_buckets").fetchone() != version
        assert conn.execute("SELECT count(*) FROM dirty_bucket_log").fetchone() == (0,)


def test_a_fold_waits_for_no_rollup_pass_and_loses_no_batch(db_url: str) -> None:
    """A fold skips while a pass holds the rollup's lock; batches committed meanwhile stay in
    the log for the next fold."""
    (a,) = register(db_url, "S1", "D1", ["E1"]).values()
    with psycopg.connect(db_url) as conn, psycopg.connect(db_url) as rollup:
        prepare(conn)
        write_batch(conn, batch([(a, 0, 1.0)]))
        assert try_lock(rollup)  # a pass in progress
        assert fold(conn) is None
        conn.rollback()
        rollup.commit()
        write_batch(conn, batch([(a, 30, 2.0)]))
        assert fold(conn) == 2
        conn.commit()
        assert conn.execute("SELECT bucket FROM dirty_buckets ORDER BY 1").fetchall() == [
            (T0,),
            (T0 + timedelta(minutes=30),),
        ]


def test_a_connection_lost_between_the_readings_and_their_marks_keeps_neither(
    db_url: str,
) -> None:
    # The backend dies on the dirty-bucket log insert, the batch's second statement: a crash
    # between statements. Had the readings committed alone, the redelivery would find them
    # stored, mark nothing, and the rollup would never compute their buckets.
    a, b = register(db_url, "S1", "D1", ["E1", "E2"]).values()
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(30);"
            " RETURN NEW; END $$"
        )
        admin.execute(
            "CREATE TRIGGER die BEFORE INSERT ON dirty_bucket_log"
            " FOR EACH ROW EXECUTE FUNCTION die()"
        )
        rows = [(a, 0, 1.0), (b, 20, 2.0)]
        with psycopg.connect(db_url) as doomed:
            prepare(doomed)
            with pytest.raises(psycopg.OperationalError):
                write_batch(doomed, batch(rows))
        assert admin.execute("SELECT count(*) FROM readings").fetchone() == (0,)
        admin.execute("DROP TRIGGER die ON dirty_bucket_log")
        with psycopg.connect(db_url) as conn:  # the redelivery
            prepare(conn)
            assert write_batch(conn, batch(rows)).stored == 2
            assert fold(conn) == 2
            assert conn.execute(
                "SELECT point_id, bucket FROM dirty_buckets ORDER BY point_id"
            ).fetchall() == [(a, T0), (b, T0 + timedelta(minutes=15))]


@pytest.mark.parametrize(
    "text", ["E0\x00", "\udc00", "a\x00\ud800b"], ids=["nul", "lone-surrogate", "both"]
)
def test_dead_letters_store_what_text_columns_cannot_hold(db_url: str, text: str) -> None:
    register(db_url, "S1", "D1", ["E1"])
    b = Batch(0.0)
    refused = Rejection(Reason.UNKNOWN_POINT, f"no point {text!r}", f'{{"point": "{text}"}}', text)
    b.add(Delivery(1, 1, 1), f"ew/v1/S1/D1{text}/readings", [], [], [refused])
    with psycopg.connect(db_url) as conn:
        prepare(conn)
        write_batch(conn, b)
        point, payload, topic = conn.execute(
            "SELECT point, payload, topic FROM dead_letters"
        ).fetchone() or ("", "", "")
    # Shown escaped, so the reader sees what arrived.
    assert point == text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
    assert "\\x00" in point or "\\ud" in point
    assert point in payload and point in topic
