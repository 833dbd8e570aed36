"""SQL for the rollup: claim dirty buckets, read points, reference rows and readings, write.

Timestamps cross the boundary as int64 milliseconds since the epoch, converted in SQL, so the
numeric core never sees a datetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg
from psycopg import sql

from energywatch.core.buckets import BUCKET_MS
from energywatch.core.coefficients import MeasuredFuel
from energywatch.protocol.payload import Quality
from energywatch.reference.load import CoalCoefficient, EmissionFactor, FactorSet
from energywatch.storage import daily
from energywatch.storage.binary_copy import (
    PG_EPOCH_MS,
    copy_in,
    fetch_packed,
    wire_dtype,
    wire_rows,
)
from services.rollup.compute import Readings, Rows
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.plan import Span, by_deletion

MS = "(extract(epoch FROM {col}) * 1000)::int8"
FROM_MS = "(TIMESTAMPTZ 'epoch' + {col} * INTERVAL '1 millisecond')"
INVALID = int(Quality.INVALID)
CLAIM_ROW = np.dtype([("point_id", ">i4"), ("ms", ">i8")])
# timestamps as sent by timestamptz_send: µs since 2000 (no numeric extract() per row)
READING_ROW = np.dtype([("n", ">i4"), ("us", ">i8"), ("value", ">f8"), ("quality", ">i2")])
BUCKET_ROW = wire_dtype(daily.BUCKET_COLUMNS)


@dataclass(frozen=True)
class Claim:
    """Dirty buckets read in one pass. Each is also kept, in temporary table `rollup_claim`
    until the transaction ends, with the row version (xmin) it had when read: a reading
    marking the bucket again meanwhile makes a new version, which `release` keeps. Kept on
    the server, the claim is not sent back (it was most of the cost of a release)."""

    point_id: list[int]
    bucket: list[int]  # ms
    # seconds since the oldest claimed mark was made (at the start of the pass), None: no mark
    oldest_age_s: float | None = None

    def by_point(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for p, b in zip(self.point_id, self.bucket, strict=True):
            out.setdefault(p, []).append(b)
        return out


CLAIM_DDL = """
    CREATE TEMPORARY TABLE IF NOT EXISTS rollup_claim (
        point_id int4 NOT NULL, bucket timestamptz NOT NULL, version xid NOT NULL
    ) ON COMMIT DELETE ROWS
"""


# The points waiting longest, each with every one of its dirty buckets, in ONE scan of the queue
# and no join. dirty_buckets is a queue: its statistics are what it held when last vacuumed or
# analysed, often nothing, though a pass finds 100,000 marks there. Joined to itself, the
# planner trusted "0 rows" and nested the loop: the claim took 9 to 22 s instead of 0.2 s
# (docs/computation.md, "The claim's plan"). A window needs no join to choose.
# dense_rank <= limit stops the window early (PostgreSQL 15's run condition).
CLAIM_SQL = """
    WITH ranked AS (
        SELECT point_id, bucket, version, first FROM (
            SELECT point_id, bucket, version, first,
                   dense_rank() OVER (ORDER BY first, point_id) AS place
              FROM (SELECT point_id, bucket, xmin AS version,
                           min(marked_at) OVER (PARTITION BY point_id) AS first
                      FROM dirty_buckets) AS marks
        ) AS placed
         WHERE place <= %s
    ), claimed AS (
        INSERT INTO rollup_claim (point_id, bucket, version)
        SELECT point_id, bucket, version FROM ranked
    )
    SELECT extract(epoch FROM now() - min(first))::float8 FROM ranked
"""


def claim_dirty(conn: psycopg.Connection, max_points: int) -> Claim:
    """Every dirty bucket of the `max_points` points waiting longest (in the caller's
    transaction, which `release` must share)."""
    conn.execute(CLAIM_DDL)
    conn.execute("DELETE FROM rollup_claim")  # an earlier claim of the same transaction
    age = conn.execute(CLAIM_SQL, (max_points,)).fetchone()
    conn.execute("ANALYZE rollup_claim")  # its size, for the plan of the release
    rows = fetch_packed(
        conn,
        f"""
        SELECT string_agg(int4send(point_id) || int8send({MS.format(col="bucket")}),
                          ''::bytea ORDER BY point_id, bucket)
          FROM rollup_claim
        """,
        (),
        CLAIM_ROW,
    )
    oldest = None if age is None else age[0]
    return Claim(rows["point_id"].tolist(), rows["ms"].tolist(), oldest)


def pass_number(conn: psycopg.Connection) -> int:
    """The next number of the sequence every pass draws from (services/rollup/counter_state.py)."""
    row = conn.execute("SELECT nextval('rollup_passes')").fetchone()
    assert row is not None
    return int(row[0])


def release(conn: psycopg.Connection, claim: Claim) -> None:
    """Delete the claimed marks, unless a reading marked the bucket again meanwhile (same
    transaction as `claim_dirty`)."""
    conn.execute(
        """
        DELETE FROM dirty_buckets d USING rollup_claim c
         WHERE d.point_id = c.point_id AND d.bucket = c.bucket AND d.xmin = c.version
        """
    )


def defer(conn: psycopg.Connection, spans: Sequence[Span]) -> None:
    """Renew the marks of spans that failed: `release` keeps them (new row version), and
    marked now, they wait behind every other point's marks."""
    if not spans:
        return
    conn.execute(
        f"""
        UPDATE dirty_buckets d SET marked_at = now()
          FROM unnest(%s::int4[], %s::int8[], %s::int8[]) AS s(point_id, lo, hi)
         WHERE d.point_id = s.point_id
           AND d.bucket >= {FROM_MS.format(col="s.lo")} AND d.bucket < {FROM_MS.format(col="s.hi")}
        """,
        ([s.point_id for s in spans], [s.start for s in spans], [s.end for s in spans]),
    )


def load_points(conn: psycopg.Connection, point_ids: Sequence[int]) -> dict[int, PointInfo]:
    rows = conn.execute(
        """
        SELECT p.id, p.measure, m.category, p.kind, p.rollover, p.scale, s.timezone,
               s.factor_set, s.grid_region, p.site_id, p.heat_gj_per_t, p.non_fossil
          FROM points p
          JOIN sites s ON s.id = p.site_id
          JOIN measures m ON m.code = p.measure
         WHERE p.id = ANY(%s)
        """,
        (list(point_ids),),
    ).fetchall()
    return {r[0]: PointInfo(*r) for r in rows}


def load_reference(conn: psycopg.Connection) -> ReferenceRows:
    coal = [
        CoalCoefficient(r[0], r[1], r[2], r[3], r[4], r[5])
        for r in conn.execute(
            "SELECT measure, basis, kgce_per_unit, source, edition, valid_from"
            " FROM coal_coefficients"
        )
    ]
    sets = {
        r[0]: FactorSet(r[0], r[1], r[2], r[3])
        for r in conn.execute("SELECT code, name, lag_years, source FROM factor_sets ORDER BY code")
    }
    emission = [
        EmissionFactor(*r)
        for r in conn.execute(
            "SELECT factor_set, measure, region, data_year, tco2_per_unit, source,"
            " ncv_gj_per_unit, carbon_tc_per_tj, oxidation FROM emission_factors"
        )
    ]
    measured: dict[int, list[MeasuredFuel]] = {}
    for site_id, *row in conn.execute(
        "SELECT site_id, measure, valid_from, valid_to, ncv_gj_per_unit, carbon_tc_per_tj,"
        " laboratory, report_ref, sampled_by, measured_on FROM measured_fuels"
        " ORDER BY site_id, valid_from"
    ):
        measured.setdefault(site_id, []).append(MeasuredFuel(*row))
    return ReferenceRows(coal, emission, sets, measured)


def neighbours(
    conn: psycopg.Connection, runs: Sequence[tuple[int, int, int]]
) -> list[tuple[int | None, int | None]]:
    """For each (point_id, lo_ms, hi_ms): the last usable reading before lo and the first
    at or after hi (ms), or None."""
    if not runs:
        return []
    rows = conn.execute(
        f"""
        SELECT r.n,
               (SELECT {MS.format(col="max(x.ts)")} FROM readings x
                 WHERE x.point_id = r.point_id AND x.quality <> {INVALID}
                   AND x.ts < {FROM_MS.format(col="r.lo")}),
               (SELECT {MS.format(col="min(x.ts)")} FROM readings x
                 WHERE x.point_id = r.point_id AND x.quality <> {INVALID}
                   AND x.ts >= {FROM_MS.format(col="r.hi")})
          FROM unnest(%s::int4[], %s::int4[], %s::int8[], %s::int8[]) AS r(n, point_id, lo, hi)
         ORDER BY r.n
        """,
        (
            list(range(len(runs))),
            [r[0] for r in runs],
            [r[1] for r in runs],
            [r[2] for r in runs],
        ),
    ).fetchall()
    return [(r[1], r[2]) for r in rows]


def epoch_ms(pg_us: np.ndarray) -> np.ndarray:
    """Binary timestamptz values (µs since 2000) to ms since 1970, rounded half up like
    `MS`'s cast of extract()'s numeric, so both ways of reading a time agree."""
    return (pg_us.astype(np.int64) + (PG_EPOCH_MS * 1000 + 500)) // 1000


def load_readings(
    conn: psycopg.Connection, spans: Sequence[Span], lookback_ms: int | Sequence[int]
) -> Readings:
    """Per span: readings from `lookback_ms` (one for all, or one per span) before its start to
    its end, plus the last usable reading before that and the first usable one at or after the
    end (the intervals that reach into the span)."""
    lookbacks = [lookback_ms] * len(spans) if isinstance(lookback_ms, int) else list(lookback_ms)
    if not spans:
        empty = np.empty(0, dtype=np.int64)
        return Readings(empty, empty, np.empty(0), np.empty(0, dtype=np.int16))
    cols = "x.point_id, x.ts, x.value, x.quality"
    rows = fetch_packed(
        conn,
        f"""
        SELECT string_agg(
                   int4send(r.n) || timestamptz_send(y.ts) || float8send(y.value)
                   || int2send(y.quality),
                   ''::bytea)
          FROM unnest(%s::int4[], %s::int4[], %s::int8[], %s::int8[]) AS r(n, point_id, lo, hi)
          CROSS JOIN LATERAL (
              (SELECT {cols} FROM readings x
                WHERE x.point_id = r.point_id AND x.quality <> {INVALID}
                  AND x.ts < {FROM_MS.format(col="r.lo")}
                ORDER BY x.ts DESC LIMIT 1)
              UNION ALL
              (SELECT {cols} FROM readings x
                WHERE x.point_id = r.point_id
                  AND x.ts >= {FROM_MS.format(col="r.lo")} AND x.ts < {FROM_MS.format(col="r.hi")})
              UNION ALL
              (SELECT {cols} FROM readings x
                WHERE x.point_id = r.point_id AND x.quality <> {INVALID}
                  AND x.ts >= {FROM_MS.format(col="r.hi")}
                ORDER BY x.ts LIMIT 1)
          ) y
        """,
        (
            list(range(len(spans))),
            [s.point_id for s in spans],
            [s.start - back for s, back in zip(spans, lookbacks, strict=True)],
            [s.end for s in spans],
        ),
        READING_ROW,
    )
    return Readings(
        span=rows["n"].astype(np.int64),
        ts=epoch_ms(rows["us"]),
        value=rows["value"].astype(np.float64),
        quality=rows["quality"].astype(np.int16),
    )


def compressed_ranges(conn: psycopg.Connection) -> list[tuple[int, int]]:
    """[start, end) ms of the compressed chunks of consumption_15min; none on plain PostgreSQL."""
    row = conn.execute("SELECT to_regclass('timescaledb_information.chunks')").fetchone()
    if row is None or row[0] is None:
        return []
    return [
        (r[0], r[1])
        for r in conn.execute(
            f"""
            SELECT {MS.format(col="range_start")}, {MS.format(col="range_end")}
              FROM timescaledb_information.chunks
             WHERE hypertable_name = 'consumption_15min' AND is_compressed
            """
        )
    ]


def _ts(ms: int) -> sql.Literal:
    return sql.Literal(datetime.fromtimestamp(ms / 1000, UTC))


def delete(
    conn: psycopg.Connection, spans: Sequence[Span], compressed: Sequence[tuple[int, int]]
) -> None:
    """Delete the buckets of the spans. Points and bounds are sent as constants, not
    parameters: TimescaleDB pushes only constants down to a compressed chunk, and then
    decompresses only the segments (points) and batches (bucket ranges) they name."""
    shared, one_each = by_deletion(spans, compressed)
    if shared:
        conn.execute(
            sql.SQL(
                """
                DELETE FROM consumption_15min c
                 USING unnest(%s::int4[], %s::int8[], %s::int8[]) AS s(point_id, lo, hi)
                 WHERE c.point_id = s.point_id
                   AND c.bucket >= {lo} AND c.bucket < {hi}
                   AND c.bucket >= {from_lo} AND c.bucket < {from_hi}
                """
            ).format(
                lo=_ts(min(s.start for s in shared)),
                hi=_ts(max(s.end for s in shared)),
                from_lo=sql.SQL(FROM_MS.format(col="s.lo")),
                from_hi=sql.SQL(FROM_MS.format(col="s.hi")),
            ),
            ([s.point_id for s in shared], [s.start for s in shared], [s.end for s in shared]),
        )
    if one_each:
        statement = sql.SQL(
            "DELETE FROM consumption_15min WHERE point_id = {} AND bucket >= {} AND bucket < {}"
        )
        conn.execute(
            sql.SQL("; ").join(
                statement.format(sql.Literal(s.point_id), _ts(s.start), _ts(s.end))
                for s in one_each
            )
        )


def write(
    conn: psycopg.Connection,
    spans: Sequence[Span],
    rows: Rows,
    compressed: Sequence[tuple[int, int]] = (),
) -> None:
    """Replace every bucket of the spans with `rows`, and keep the daily totals of the days
    they touch (in the caller's transaction). `compressed`: see `compressed_ranges`."""
    ids, lo, hi = [s.point_id for s in spans], [s.start for s in spans], [s.end for s in spans]
    with daily.kept(conn, ids, lo, hi, rows, emptied=short_spans(spans, rows)):
        delete(conn, spans, compressed)
        wire = wire_rows(BUCKET_ROW, len(rows))
        for name in ("point_id", "quantity", "tce", "tco2", "completeness"):
            wire[name] = getattr(rows, name)
        wire["bucket"] = (rows.bucket - PG_EPOCH_MS) * 1000  # timestamptz: µs since 2000-01-01
        copy_in(
            conn,
            "COPY consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)"
            " FROM STDIN (FORMAT BINARY)",
            wire,
        )


def short_spans(spans: Sequence[Span], rows: Rows) -> list[int]:
    """The spans that `rows` does not fill (some bucket without a row): a day of theirs may be
    left without buckets. Spans of one point do not overlap."""
    if not spans:
        return []
    point = np.array([s.point_id for s in spans], dtype=np.int64)
    start = np.array([s.start for s in spans], dtype=np.int64)
    end = np.array([s.end for s in spans], dtype=np.int64)
    key = (point << 32) | (start // BUCKET_MS)
    order = np.argsort(key, kind="stable")
    row_key = (rows.point_id.astype(np.int64) << 32) | (rows.bucket // BUCKET_MS)
    of_row = order[np.searchsorted(key[order], row_key, side="right") - 1]
    filled = np.bincount(of_row, minlength=len(spans))
    return np.flatnonzero(filled < (end - start) // BUCKET_MS).tolist()


def mark_all_dirty(conn: psycopg.Connection, point_ids: Sequence[int] | None = None) -> int:
    """Mark every bucket that holds a reading dirty (for a rebuild from scratch); a bucket
    already dirty keeps the time it was first marked (its wait is what the age measures)."""
    where = "" if point_ids is None else "WHERE point_id = ANY(%s)"
    params = () if point_ids is None else (list(point_ids),)
    cur = conn.execute(
        f"""
        INSERT INTO dirty_buckets (point_id, bucket)
        SELECT DISTINCT point_id, date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00+00')
          FROM readings {where}
        ON CONFLICT (point_id, bucket) DO UPDATE
           SET marked_at = least(dirty_buckets.marked_at, excluded.marked_at)
        """,
        params,
    )
    return cur.rowcount
