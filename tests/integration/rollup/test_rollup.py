"""The rollup against a real PostgreSQL: figures, late data, scratch rebuilds, dirty marks."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import psycopg
import pytest

from energywatch.storage.binary_copy import fetch_packed
from services.rollup import store
from services.rollup.worker import Options, drain, rebuild
from tests.integration.rollup.support import (
    START,
    buckets_of,
    make_point,
    make_site,
    minutes,
    scalar,
    write_readings,
)

OPTIONS = Options(batch_points=3)  # small batches: several passes, as under load
# every dirty bucket planned on its own: the widening to neighbouring readings must be right
# and computed a few at a time, several groups to a pass
SPARSE = Options(batch_points=3, run_gap_ms=0, group_ms=2 * 3_600_000)


@pytest.fixture
def conn(db_url: str):
    with psycopg.connect(db_url) as c:
        yield c


def meter_history(seed: int) -> list[tuple]:
    """Six hours of a one-minute electricity register: steady use, a 40-minute gap, a reset,
    a wrap at 10,000 kWh, one invalid reading and one estimated one."""
    rng = random.Random(seed)
    rows = []
    value = 9_000.0
    for m in range(360):
        if 100 <= m < 140:
            continue  # the gap
        value += rng.uniform(1.0, 3.0)
        if m == 200:
            value = 2.0  # reset (meter replaced)
        if value >= 10_000.0:
            value -= 10_000.0  # wrap
        quality = 2 if m == 250 else 4 if m == 251 else 0
        rows.append((START + minutes(m), round(value, 3), quality))
    return rows


def test_figures_of_a_steady_meter(conn: psycopg.Connection) -> None:
    site = make_site(conn)
    p = make_point(conn, site, "E01", "electricity", "cumulative")
    write_readings(conn, p, [(START + minutes(m), 100.0 + m, 0) for m in range(61)])
    drain(conn, OPTIONS)
    rows = buckets_of(conn, p)
    # 60 kWh over the hour; a reading closes the bucket ending at its time, so the first one
    # (00:00) is counted in 23:45-24:00, a bucket with nothing to measure yet
    assert [r[1] for r in rows] == pytest.approx([0.0, 15.0, 15.0, 15.0, 15.0])
    kgce = scalar(
        conn,
        "SELECT kgce_per_unit FROM coal_coefficients"
        " WHERE measure = 'electricity' AND basis = 'equivalent'",
    )
    grid = scalar(
        conn,
        "SELECT tco2_per_unit FROM emission_factors WHERE measure = 'electricity'"
        " AND region = 'north' AND data_year <= 2024 ORDER BY data_year DESC LIMIT 1",
    )
    assert rows[1][2] == pytest.approx(15.0 * kgce / 1000.0)
    assert rows[1][3] == pytest.approx(15.0 * grid)
    assert [r[4] for r in rows] == pytest.approx([1 / 15, 1.0, 1.0, 1.0, 1.0])
    assert scalar(conn, "SELECT count(*) FROM dirty_buckets") == 0
    daily = conn.execute(
        "SELECT day, quantity FROM consumption_daily WHERE point_id = %s", (p,)
    ).fetchall()
    assert sorted((str(d), q) for d, q in daily) == [
        ("2026-11-19", 0.0),
        ("2026-11-20", pytest.approx(60.0)),
    ]
    hourly = conn.execute(
        "SELECT quantity, n_buckets FROM consumption_hourly WHERE point_id = %s ORDER BY bucket",
        (p,),
    ).fetchall()
    assert [(q, n) for q, n in hourly] == [(0.0, 1), (pytest.approx(60.0), 4)]
    monthly = conn.execute(
        "SELECT month, tce FROM consumption_monthly WHERE point_id = %s", (p,)
    ).fetchall()
    assert [(str(m), t) for m, t in monthly] == [("2026-11-01", pytest.approx(60 * kgce / 1000))]


def test_late_data_gives_the_same_result_as_computing_from_scratch(
    conn: psycopg.Connection,
) -> None:
    site = make_site(conn)
    pairs = []
    for n, (measure, kind, rollover) in enumerate(
        [("electricity", "cumulative", 10_000.0), ("natural_gas", "interval", None)]
    ):
        at_once = make_point(conn, site, f"A{n}", measure, kind, rollover)
        late = make_point(conn, site, f"B{n}", measure, kind, rollover)
        pairs.append((at_once, late, kind))

    for n, (at_once, late, kind) in enumerate(pairs):
        history = meter_history(n)
        if kind == "interval":
            history = [(ts, round(v % 7.0, 3), q) for ts, v, q in history]
        write_readings(conn, at_once, history)
        # the same readings for the twin, 30 of them held back and delivered after a pass
        held = set(random.Random(n).sample(range(len(history)), 30))
        held |= {len(history) - 1, 0, 99}  # the last, the first, the one before the gap
        # readings on bucket edges: their absence had spread a delta over the bucket before
        held |= {i for i, r in enumerate(history) if r[0].minute % 15 == 0 and i % 2 == 0}
        write_readings(conn, late, [r for i, r in enumerate(history) if i not in held])
        drain(conn, SPARSE)
        write_readings(conn, late, [r for i, r in enumerate(history) if i in held])
    drain(conn, SPARSE)

    for at_once, late, _ in pairs:
        expected = buckets_of(conn, at_once)
        got = buckets_of(conn, late)
        assert len(expected) > 20
        assert [r[0] for r in got] == [r[0] for r in expected]
        for g, e in zip(got, expected, strict=True):
            assert g[1:] == pytest.approx(e[1:], rel=1e-9, abs=1e-9)

    # and a rebuild of everything from the stored readings changes nothing
    before = {p: buckets_of(conn, p) for pair in pairs for p in pair[:2]}
    conn.execute("DELETE FROM consumption_15min")
    conn.commit()
    rebuild(conn, OPTIONS)
    for p, rows in before.items():
        after = buckets_of(conn, p)
        assert [r[0] for r in after] == [r[0] for r in rows]
        for a, b in zip(after, rows, strict=True):
            assert a[1:] == pytest.approx(b[1:], rel=1e-9, abs=1e-9)


def test_total_consumption_survives_reset_and_wrap(conn: psycopg.Connection) -> None:
    site = make_site(conn)
    p = make_point(conn, site, "E01", "electricity", "cumulative", rollover=10_000.0)
    history = meter_history(0)
    write_readings(conn, p, history)
    drain(conn, OPTIONS)
    total = scalar(conn, "SELECT sum(quantity) FROM consumption_15min WHERE point_id = %s", (p,))
    # the register's own rises, with the wrap added back and the reset counted from zero
    usable = [(ts, v) for ts, v, q in history if q != 2]
    expected = 0.0
    for (_, prev), (_, cur) in itertools.pairwise(usable):
        d = cur - prev
        expected += d if d >= 0 else (cur + 10_000.0 - prev if prev > 9_000.0 else cur)
    assert total == pytest.approx(expected)
    assert not math.isnan(total)


def test_a_mark_renewed_during_a_pass_is_kept(conn: psycopg.Connection, db_url: str) -> None:
    site = make_site(conn)
    p = make_point(conn, site, "E01", "electricity", "cumulative")
    write_readings(conn, p, [(START, 1.0, 0), (START + minutes(20), 2.0, 0)])
    claim = store.claim_dirty(conn, 10)
    assert len(claim.point_id) == 2
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("UPDATE dirty_buckets SET marked_at = now() WHERE bucket = %s", (START,))
    store.release(conn, claim)
    conn.commit()
    left = conn.execute("SELECT bucket FROM dirty_buckets").fetchall()
    assert [r[0] for r in left] == [START]


def test_the_first_report_of_an_interval_meter_is_counted(conn: psycopg.Connection) -> None:
    # A report at 00:15 is the use of 00:00-00:15: it belongs to the bucket it closes, which
    # ingest's mark (the bucket starting at 00:15) does not name, and no earlier reading
    # widens the range to it. It was lost when it was the meter's first.
    site = make_site(conn)
    p = make_point(conn, site, "G01", "natural_gas", "interval")
    write_readings(conn, p, [(START + minutes(15), 5.0, 0)])
    drain(conn, OPTIONS)
    assert sum(r[1] for r in buckets_of(conn, p)) == pytest.approx(5.0)
    write_readings(conn, p, [(START + minutes(30), 7.0, 0)])
    drain(conn, OPTIONS)
    assert sum(r[1] for r in buckets_of(conn, p)) == pytest.approx(12.0)


def test_readings_times_read_in_binary_round_like_the_sql_conversion(
    conn: psycopg.Connection,
) -> None:
    # load_readings reads timestamps as sent in binary (µs since 2000); every other query of
    # the rollup converts them to ms in SQL. Both must give the same ms, sub-ms parts included.
    stamps = [
        "2026-11-20 00:14:59.9995+00",
        "2026-11-20 00:14:59.999499+00",
        "2026-11-20 00:00:00.000501+00",
        "1999-12-31 23:59:59.9996+00",
        "2026-11-20 00:15:00+00",
    ]
    packed = fetch_packed(
        conn,
        "SELECT string_agg(timestamptz_send(t::timestamptz), ''::bytea ORDER BY i)"
        " FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i)",
        (stamps,),
        np.dtype([("us", ">i8")]),
    )
    in_sql = [
        r[0]
        for r in conn.execute(
            f"SELECT {store.MS.format(col='t::timestamptz')}"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
            (stamps,),
        )
    ]
    assert store.epoch_ms(packed["us"]).tolist() == in_sql
