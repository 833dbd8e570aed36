"""Passes under a live load: the claim's size, the counter state carried between passes, and
the age of dirty marks."""

from __future__ import annotations

import psycopg
import pytest

from energywatch.storage import dirty_marks
from services.rollup import store
from services.rollup.worker import Carry, Options, run_pass
from tests.integration.rollup.support import (
    START,
    buckets_of,
    make_point,
    make_site,
    minutes,
    scalar,
    write_readings,
)
from tests.integration.rollup.test_rollup import meter_history

OPTIONS = Options(batch_points=3)


@pytest.fixture
def conn(db_url: str):
    with psycopg.connect(db_url) as c:
        yield c


def passes_without_carry(conn: psycopg.Connection, options: Options = OPTIONS) -> None:
    """The pass as it was: a fixed claim, every range loaded with the lookback."""
    while run_pass(conn, options).progressed:
        pass


def history_with_dips() -> list[tuple]:
    """meter_history (gap, reset, wrap, an invalid and an estimated reading) with small dips
    in effect across bucket edges (16:59, 19:44): the reference stays at the higher value."""
    rows = meter_history(3)
    out: list[tuple] = []
    for ts, value, quality in rows:
        minute = int((ts - START).total_seconds() // 60)
        if minute in (59, 224):
            value = round(out[-1][1] - 0.5, 3)
        out.append((ts, value, quality))
    return out


def test_carried_counter_state_gives_the_buckets_of_the_lookback(
    conn: psycopg.Connection,
) -> None:
    site = make_site(conn)
    at_once = make_point(conn, site, "E01", "electricity", "cumulative", rollover=10_000.0)
    live = make_point(conn, site, "E02", "electricity", "cumulative", rollover=10_000.0)
    gas_at_once = make_point(conn, site, "G01", "natural_gas", "interval")
    gas = make_point(conn, site, "G02", "natural_gas", "interval")
    history = history_with_dips()
    reports_of_gas = [(ts, 2.0, q) for ts, _, q in history]
    write_readings(conn, at_once, history)
    write_readings(conn, gas_at_once, reports_of_gas)
    passes_without_carry(conn)

    carry = Carry.of(OPTIONS)
    reports = []
    for k in range(0, len(history), 7):  # seven minutes of readings a pass
        write_readings(conn, live, history[k : k + 7])
        write_readings(conn, gas, [(ts, 2.0, q) for ts, _, q in history[k : k + 7]])
        reports.append(run_pass(conn, OPTIONS, carry=carry))

    for twin, point in ((at_once, live), (gas_at_once, gas)):
        expected = buckets_of(conn, twin)
        got = buckets_of(conn, point)
        assert len(expected) > 20
        assert [r[0] for r in got] == [r[0] for r in expected]
        for g, e in zip(got, expected, strict=True):
            assert g[1:] == pytest.approx(e[1:], rel=1e-9, abs=1e-9)
    # the state was carried for most ranges, and not where a dip was in effect at the edge
    assert all(r.points == 2 for r in reports)
    assert reports[0].lookback_spans == 1  # the register's first range: nothing carried yet
    assert sum(r.lookback_spans for r in reports) < len(reports) // 4
    # about two buckets of minute readings a range, where the lookback alone is 120
    assert sum(r.readings for r in reports) < len(reports) * 2 * 45


def test_a_pass_by_another_process_makes_the_worker_forget(conn: psycopg.Connection) -> None:
    site = make_site(conn)
    p = make_point(conn, site, "E01", "electricity", "cumulative")
    carry = Carry.of(OPTIONS)

    def deliver(*ms: int) -> None:
        write_readings(conn, p, [(START + minutes(m), 100.0 + m, 0) for m in ms])

    deliver(*range(35))  # 16:00-16:34: the state at 16:15 and 16:30 is learned
    assert run_pass(conn, OPTIONS, carry=carry).lookback_spans == 1
    deliver(35)  # marks 16:30; its range starts at 16:30 (the reading before is 16:34)
    assert run_pass(conn, OPTIONS, carry=carry).lookback_spans == 0
    deliver(36)
    passes_without_carry(conn)  # a rebuild next to the worker, say
    deliver(37)
    assert run_pass(conn, OPTIONS, carry=carry).lookback_spans == 1


def test_claims_grow_while_marks_wait(conn: psycopg.Connection) -> None:
    site = make_site(conn)
    for n in range(40):
        p = make_point(conn, site, f"E{n:02d}", "electricity", "cumulative")
        write_readings(conn, p, [(START, 1.0, 0), (START + minutes(1), 2.0, 0)])
    # a target no pass reaches: each full claim grows by the growth factor (4)
    options = Options(batch_points=2, max_batch_points=1_000, pass_target_s=1e6)
    carry = Carry.of(options)
    reports = [run_pass(conn, options, carry=carry) for _ in range(4)]
    assert [r.claim_limit for r in reports] == [2, 8, 32, 32]  # 30 left: no news past 32
    assert [r.points for r in reports] == [2, 8, 30, 0]
    assert scalar(conn, "SELECT count(*) FROM dirty_buckets") == 0


def test_a_mark_made_again_keeps_the_time_it_was_first_made(conn: psycopg.Connection) -> None:
    site = make_site(conn)
    p = make_point(conn, site, "E01", "electricity", "cumulative")
    write_readings(conn, p, [(START, 1.0, 0)])
    conn.execute("UPDATE dirty_buckets SET marked_at = now() - interval '90 seconds'")
    conn.commit()
    first = scalar(conn, "SELECT marked_at FROM dirty_buckets")

    write_readings(conn, p, [(START + minutes(1), 2.0, 0)])  # as the tests' ingest marks
    with conn.cursor() as cur:  # as ingest logs it, folded by the next pass
        dirty_marks.log_batch(cur, [p], [int((START.timestamp() - 946_684_800) // 900)])
    dirty_marks.fold(conn)
    store.mark_all_dirty(conn, [p])  # as a rebuild marks
    conn.commit()
    assert scalar(conn, "SELECT count(*) FROM dirty_buckets") == 1
    assert scalar(conn, "SELECT marked_at FROM dirty_buckets") == first

    with conn.transaction():
        claim = store.claim_dirty(conn, 10)
    assert claim.oldest_age_s is not None
    assert 90.0 <= claim.oldest_age_s < 90.0 + 60.0
