"""Ingest's and the rollup's notifications of changed points, heard by a real LISTEN."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchmarks.support.registry_rows import register
from energywatch.storage.changes import READINGS_CHANNEL, ROLLUPS_CHANNEL, announce, decode
from services.ingest.batch import Batch, Delivery
from services.ingest.decode import Row
from services.ingest.writer import prepare, write_batch
from services.rollup.worker import Options, drain
from tests.integration.rollup.support import make_point, make_site, write_readings

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def listener(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {READINGS_CHANNEL}")
        conn.execute(f"LISTEN {ROLLUPS_CHANNEL}")
        yield conn


def heard(listener: psycopg.Connection) -> list[tuple[str, list[int]]]:
    """What is waiting, without waiting: the writers committed before this is called."""
    return [(n.channel, decode(n.payload)) for n in listener.notifies(timeout=0.5)]


def test_a_batch_announces_its_points_on_commit(db_url: str, listener) -> None:
    ids = register(db_url, "S1", "D1", ["E1", "E2", "E3"])
    a, b = ids["E1"], ids["E3"]
    batch = Batch(0.0)
    rows = [(b, 0), (a, 0), (a, 1)]
    readings = [Row("E", T0 + timedelta(minutes=m), 1.0) for _, m in rows]
    batch.add(Delivery(1, 1, 1), "t", [p for p, _ in rows], readings, [])
    with psycopg.connect(db_url) as conn:
        prepare(conn)
        write_batch(conn, batch)
        assert heard(listener) == [(READINGS_CHANNEL, sorted([a, b]))]
        # The same batch again stores nothing new (the staged path): nothing to announce.
        assert write_batch(conn, batch).stored == 0
        assert heard(listener) == []


def test_nothing_is_heard_of_a_transaction_that_rolls_back(db_url: str, listener) -> None:
    with psycopg.connect(db_url) as conn:
        with conn.cursor() as cur:
            announce(cur, READINGS_CHANNEL, [7, 8])
        conn.rollback()
        with conn.cursor() as cur:
            announce(cur, READINGS_CHANNEL, [9])
        conn.commit()
    assert heard(listener) == [(READINGS_CHANNEL, [9])]


def test_a_rollup_pass_announces_the_points_it_rewrote(db_url: str, listener) -> None:
    with psycopg.connect(db_url) as conn:
        site = make_site(conn)
        p1 = make_point(conn, site, "E01", "electricity", "cumulative")
        p2 = make_point(conn, site, "E02", "electricity", "cumulative")
        make_point(conn, site, "E03", "electricity", "cumulative")  # no readings: not named
        for p in (p1, p2):
            write_readings(conn, p, [(T0 + timedelta(minutes=m), 100.0 + m, 0) for m in range(31)])
        drain(conn, Options())
    assert heard(listener) == [(ROLLUPS_CHANNEL, [p1, p2])]
