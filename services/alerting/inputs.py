"""What the rules read from the database, one query per input family and window.

Every query takes `now` as a parameter rather than the database clock, so that an evaluation
is reproducible and tests can step time. One `CycleInputs` lives for one evaluation cycle and
memoises each query, so ten rules over the same window cost one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from energywatch.core.series import I64
from energywatch.core.thresholds import F64
from energywatch.core.timegrid import to_ms, year_elapsed
from energywatch.core.unit_balance import Flow
from energywatch.protocol import Quality
from energywatch.storage.binary_copy import Int4s, fetch_packed, keys_per_packed_row
from services.alerting.registry import Point, Registry, balance_role
from services.alerting.rollup_cache import BUCKET_S, RollupCache, year_start

BUCKET = timedelta(minutes=15)
_NEVER = np.iinfo(np.int64).max  # a bucket number no slot holds
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # buckets align as date_bin(..., 2000-01-01 UTC)


@dataclass(frozen=True)
class SiteSums:
    """Sums over a window per site: [(role, measure, product, quantity, tce, tco2)]."""

    by_site: dict[int, list[tuple[str, str, str | None, float, float, float]]]

    def net(self, site_id: int, column: int, measure: str | None = None) -> float:
        """The site's comprehensive consumption: level-1 inputs less exports (GB/T 2589-2020,
        energywatch/storage/balance.py). NaN when the site has no input rows."""
        inputs = self.total(site_id, "consumption", column, measure)
        exports = self.total(site_id, "export", column, measure)
        return inputs - exports if exports == exports else inputs

    def total(
        self,
        site_id: int,
        role: str,
        column: int,
        measure: str | None = None,
        product: str | None = None,
    ) -> float:
        """Sums of the rows of a balance role (`balance_role`); column: 0 quantity, 1 tce,
        2 tco2. NaN when the site has no such rows."""
        total = 0.0
        found = False
        for r, m, p, *sums in self.by_site.get(site_id, ()):
            if r != role or (measure is not None and m != measure):
                continue
            if product is not None and p != product:
                continue
            total += sums[column]
            found = True
        return total if found else float("nan")


@dataclass(frozen=True)
class YearToDate:
    tce: dict[int, float]
    tco2: dict[int, float]
    elapsed: dict[int, float]  # share of the site's local year gone
    covered: dict[int, float]  # share of it covered by data: from the first bucket to now


STATS_ROW = np.dtype(
    [
        ("point_id", ">i4"),
        ("mean", ">f8"),
        ("spread", ">f8"),
        ("count", ">i8"),
        ("last_ms", ">i8"),
        ("negatives", ">i8"),
        ("resets", ">i8"),
    ]
)

_STATS_COLUMNS = """
    SELECT string_agg(int4send(point_id) || float8send(mean) || float8send(spread)
                      || int8send(n) || int8send(last_ms) || int8send(negatives)
                      || int8send(resets), ''::bytea)
    FROM (SELECT point_id, avg(value) AS mean, max(value) - min(value) AS spread,
                 count(*) AS n, (extract(epoch FROM max(ts)) * 1000)::int8 AS last_ms,
"""
# Without resets or negatives: one aggregate over the window's readings.
_STATS_SCAN = (
    _STATS_COLUMNS
    + """
                 0::int8 AS negatives, 0::int8 AS resets
            FROM readings
           WHERE point_id = ANY(%(ids)s) AND ts > %(start)s AND ts <= %(now)s
           GROUP BY point_id) y
    GROUP BY y.point_id / %(per_row)s
"""
)
# With them: the same aggregate over an ordered pass that sees each reading's predecessor. A
# cumulative point's drop of more than `share` of the previous value is a reset (unless it
# wraps past the rollover), a smaller one negative consumption; an interval point's value below
# zero is negative consumption (energywatch.core.counters makes the same split).
_DROPS_SCAN = (
    _STATS_COLUMNS
    + """
                 count(*) FILTER (WHERE (kind = 'interval' AND value < 0)
                                  OR (kind = 'cumulative' AND value < prev
                                      AND prev - value <= %(share)s * abs(prev))) AS negatives,
                 count(*) FILTER (WHERE kind = 'cumulative' AND value < prev
                                  AND prev - value > %(share)s * abs(prev)
                                  AND NOT (rollover IS NOT NULL
                                           AND rollover - prev + value >= 0
                                           AND rollover - prev + value <= 0.5 * rollover))
                     AS resets
            FROM (SELECT r.point_id, r.ts, r.value, p.kind, p.rollover,
                         lag(r.value) OVER (PARTITION BY r.point_id ORDER BY r.ts) AS prev
                    FROM readings r JOIN points p ON p.id = r.point_id
                   WHERE r.point_id = ANY(%(ids)s) AND r.ts > %(start)s AND r.ts <= %(now)s) x
           GROUP BY point_id) y
    GROUP BY y.point_id / %(per_row)s
"""
)
# Points per packed row: one record each (binary_copy.fetch_packed says why rows stay small).
STATS_POINTS_PER_ROW = keys_per_packed_row(STATS_ROW)


@dataclass(frozen=True)
class PointStats:
    """Per point over a window, as arrays in the order of `ids` (ascending): a province's
    200,000 points in a few arrays rather than a million Python objects. A point absent from
    `ids` had no reading there."""

    ids: I64
    mean: F64
    spread: F64
    count: I64
    resets: I64
    negatives: I64
    last_ms: I64  # newest reading in the window, ms since the epoch

    def of(self, column: str, point_ids: I64, absent: float) -> F64:
        """`column` for each of `point_ids`, `absent` for a point with no reading."""
        values: npt.NDArray[Any] = getattr(self, column)
        if not self.ids.size:
            return np.full(point_ids.size, absent, dtype=np.float64)
        at = np.minimum(np.searchsorted(self.ids, point_ids), self.ids.size - 1)
        return np.where(self.ids[at] == point_ids, values[at], absent).astype(np.float64)


@dataclass(frozen=True)
class MinuteMeans:
    """Per point over a window: the minutes (ms, ascending) that hold a valid reading and the
    mean of their valid readings; and how many minutes held only flagged readings."""

    minutes: dict[int, I64]
    values: dict[int, F64]
    flagged_minutes: dict[int, int]


@dataclass
class CycleInputs:
    conn: psycopg.Connection
    now: datetime
    cache: RollupCache | None = None  # recent rollups in memory (refreshed by the caller)
    registry: Registry | None = None
    # (window, reset_share) -> every point the cycle's rules read over that window, so that
    # one scan serves them all
    scans: dict[tuple[timedelta, float], tuple[int, ...]] = field(default_factory=dict)
    # the scans some rule reads resets/negatives from (the others skip the window function)
    drop_scans: frozenset[tuple[timedelta, float]] | None = None
    # the sites whose figures the evaluation needs (None: all): an event evaluation sums the
    # cached rollups of their points only
    sites: frozenset[int] | None = None
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def _rows(self) -> tuple[I64 | None, I64]:
        """Rows of the cache to sum (None: all) and the point id of each row summed."""
        assert self.cache is not None and self.registry is not None
        cache = self.cache
        if self.sites is None:
            return None, cache.point_ids
        by_site = self.registry.points_by_site
        ids = np.array([p.id for s in self.sites for p in by_site.get(s, ())], dtype=np.int64)
        rows = cache.rows_of(ids)
        return rows[rows >= 0], ids[rows >= 0]

    def _site_sums_cached(self, window: timedelta) -> SiteSums:
        assert self.cache is not None and self.registry is not None
        cache, reg = self.cache, self.registry
        hi = _ceil_bucket(self.now)
        lo = _ceil_bucket(self.now - window)
        rows, point_ids = self._rows()
        sums, counts = cache.window_sums(lo, hi, rows)
        by_site: dict[int, list[tuple[str, str, str | None, float, float, float]]] = {}
        for i in np.nonzero(counts)[0].tolist():
            point = reg.points.get(int(point_ids[i]))
            if point is None:
                continue
            by_site.setdefault(point.site_id, []).append(
                (
                    point.balance_role,
                    point.measure,
                    point.product,
                    float(sums[0, i]),
                    float(sums[1, i]),
                    float(sums[2, i]),
                )
            )
        return SiteSums(by_site)

    def _year_to_date_cached(self) -> YearToDate:
        assert self.cache is not None and self.registry is not None
        cache, reg = self.cache, self.registry
        tz = {sid: site.timezone for sid, site in reg.sites.items()}
        base, cutoff = cache.year_base(self.conn, self.now, tz)
        if self.sites is not None:
            tz = {sid: tz[sid] for sid in self.sites if sid in tz}
        rows, point_ids = self._rows()
        first = {sid: max(cutoff, _ceil_bucket(year_start(self.now, z))) for sid, z in tz.items()}
        lo = np.array(
            [
                first.get(reg.points[int(p)].site_id, cutoff) if int(p) in reg.points else _NEVER
                for p in point_ids
            ],
            dtype=np.int64,
        )
        sums, _ = cache.window_sums_from(lo, _ceil_bucket(self.now), rows)
        tce = {sid: base.get(sid, (0.0, 0.0))[0] for sid in tz}
        tco2 = {sid: base.get(sid, (0.0, 0.0))[1] for sid in tz}
        for i, p in enumerate(point_ids.tolist()):
            point = reg.points.get(p)
            if point is None or not point.balance_sign:
                continue
            tce[point.site_id] += point.balance_sign * float(sums[1, i])
            tco2[point.site_id] += point.balance_sign * float(sums[2, i])
        now_ms = int(self.now.timestamp() * 1000)
        since = cache.first_buckets(self.conn, self.now, {s: reg.sites[s].timezone for s in tz})
        shares = {
            sid: year_elapsed(z, now_ms, to_ms(since.get(sid, self.now))) for sid, z in tz.items()
        }
        return YearToDate(
            tce,
            tco2,
            {sid: s.elapsed for sid, s in shares.items()},
            {sid: s.covered for sid, s in shares.items()},
        )

    def _once(self, key: tuple[Any, ...], fetch: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = fetch()
        return self._memo[key]

    def site_sums(self, window: timedelta) -> SiteSums:
        def fetch() -> SiteSums:
            if self.cache is not None and self.registry is not None and self.cache.covers(window):
                return self._site_sums_cached(window)
            rows = self.conn.execute(
                "SELECT p.site_id, p.role, p.balance_sign, p.measure, p.product,"
                " sum(c.quantity), sum(c.tce), sum(c.tco2)"
                " FROM consumption_15min c JOIN points p ON p.id = c.point_id"
                " WHERE c.bucket >= %(start)s AND c.bucket < %(now)s GROUP BY 1, 2, 3, 4, 5",
                {"start": self.now - window, "now": self.now},
            ).fetchall()
            by_site: dict[int, list[tuple[str, str, str | None, float, float, float]]] = {}
            for r in rows:
                role = balance_role(r[1], r[2])
                by_site.setdefault(r[0], []).append((role, r[3], r[4], r[5], r[6], r[7]))
            return SiteSums(by_site)

        return self._once(("site_sums", window), fetch)

    def point_flows(self, window: timedelta, points: Mapping[int, Point]) -> dict[int, list[Flow]]:
        """Each point's sums over the window, per site: what unit balances are made of."""

        def fetch() -> dict[int, list[Flow]]:
            rows: list[tuple[int, float, float, float]]
            if self.cache is not None and self.cache.covers(window):
                sums, counts = self.cache.window_sums(
                    _ceil_bucket(self.now - window), _ceil_bucket(self.now)
                )
                ids = self.cache.point_ids.tolist()
                rows = [
                    (int(ids[i]), float(sums[0, i]), float(sums[1, i]), float(sums[2, i]))
                    for i in np.nonzero(counts)[0].tolist()
                ]
            else:
                rows = [
                    (r[0], r[1], r[2], r[3])
                    for r in self.conn.execute(
                        "SELECT point_id, sum(quantity), sum(tce), sum(tco2) FROM consumption_15min"
                        " WHERE bucket >= %(start)s AND bucket < %(now)s GROUP BY point_id",
                        {"start": self.now - window, "now": self.now},
                    )
                ]
            by_site: dict[int, list[Flow]] = {}
            for point_id, quantity, tce, tco2 in rows:
                p = points.get(point_id)
                if p is None:
                    continue
                by_site.setdefault(p.site_id, []).append(
                    Flow(
                        p.code,
                        p.process_unit,
                        p.role,
                        p.metering_level,
                        p.measure,
                        p.product,
                        quantity,
                        tce,
                        tco2,
                    )
                )
            return by_site

        return self._once(("point_flows", window), fetch)

    def year_to_date(self) -> YearToDate:
        def fetch() -> YearToDate:
            if self.cache is not None and self.registry is not None:
                return self._year_to_date_cached()
            rows = self.conn.execute(
                """
                WITH y AS (
                    SELECT id,
                           date_trunc('year', %(now)s AT TIME ZONE timezone)
                               AT TIME ZONE timezone AS y0,
                           (date_trunc('year', %(now)s AT TIME ZONE timezone)
                               + interval '1 year') AT TIME ZONE timezone AS y1
                    FROM sites)
                SELECT y.id, coalesce(sum(c.tce * p.balance_sign), 0),
                       coalesce(sum(c.tco2 * p.balance_sign), 0),
                       extract(epoch FROM %(now)s - y.y0) / extract(epoch FROM y.y1 - y.y0),
                       extract(epoch FROM %(now)s - coalesce(min(c.bucket), %(now)s))
                           / extract(epoch FROM y.y1 - y.y0)
                FROM y
                LEFT JOIN points p ON p.site_id = y.id AND p.balance_sign <> 0
                LEFT JOIN consumption_15min c
                       ON c.point_id = p.id AND c.bucket >= y.y0 AND c.bucket < %(now)s
                GROUP BY y.id, y.y0, y.y1
                """,
                {"now": self.now},
            ).fetchall()
            return YearToDate(
                {r[0]: float(r[1]) for r in rows},
                {r[0]: float(r[2]) for r in rows},
                {r[0]: float(r[3]) for r in rows},
                {r[0]: float(r[4]) for r in rows},
            )

        return self._once(("ytd",), fetch)

    def point_stats(
        self, window: timedelta, point_ids: tuple[int, ...], reset_share: float = 0.1
    ) -> PointStats:
        """Per point over (now - window, now]: mean, spread, count, newest reading, resets
        and negatives.

        Cumulative points: a drop of more than `reset_share` of the previous value is a reset
        (unless it wraps past the point's rollover value), a smaller drop is negative
        consumption (the same split as energywatch.core.counters). Interval points: a value
        below zero is negative consumption. One scan serves every rule with this window:
        the query covers all points the cycle asks about, whichever rule asks first. It is an
        ordered pass comparing each reading with the one before when a rule reads resets or
        negatives, a plain aggregate otherwise.
        """

        def fetch() -> PointStats:
            ids = self.scans.get((window, reset_share), point_ids)
            params = {
                "ids": Int4s(ids),
                "start": self.now - window,
                "now": self.now,
                "share": reset_share,
                "per_row": STATS_POINTS_PER_ROW,
            }
            wants_drops = self.drop_scans is None or (window, reset_share) in self.drop_scans
            rows = fetch_packed(
                self.conn, _DROPS_SCAN if wants_drops else _STATS_SCAN, params, STATS_ROW
            )
            rows = rows[np.argsort(rows["point_id"], kind="stable")]  # sorted here, not by
            return PointStats(  # the server (a sort of 200,000 groups)
                rows["point_id"].astype(np.int64),
                rows["mean"].astype(np.float64),
                rows["spread"].astype(np.float64),
                rows["count"].astype(np.int64),
                rows["resets"].astype(np.int64),
                rows["negatives"].astype(np.int64),
                rows["last_ms"].astype(np.int64),
            )

        key: tuple[Any, ...] = ("stats", window, reset_share)
        if (window, reset_share) not in self.scans:
            key += (point_ids,)
        return self._once(key, fetch)

    def minute_means(self, window: timedelta, point_ids: tuple[int, ...]) -> MinuteMeans:
        """Minute means of the valid (Quality.GOOD: HJ 212 flag N) readings in
        (now - window, now], the unit HJ 75-2017 builds hourly means from."""

        def fetch() -> MinuteMeans:
            rows = self.conn.execute(
                "SELECT point_id, (floor(extract(epoch FROM ts) / 60) * 60000)::bigint AS minute,"
                " avg(value) FILTER (WHERE quality = %(good)s) FROM readings"
                " WHERE point_id = ANY(%(ids)s) AND ts > %(start)s AND ts <= %(now)s"
                " GROUP BY 1, 2 ORDER BY 1, 2",
                {
                    "ids": Int4s(point_ids),
                    "start": self.now - window,
                    "now": self.now,
                    "good": int(Quality.GOOD),
                },
            ).fetchall()
            grouped: dict[int, list[tuple[int, float]]] = {}
            flagged: dict[int, int] = {}
            for point_id, minute, mean in rows:
                if mean is None:
                    flagged[point_id] = flagged.get(point_id, 0) + 1
                else:
                    grouped.setdefault(point_id, []).append((minute, mean))
            return MinuteMeans(
                {p: np.array([m for m, _ in g], dtype=np.int64) for p, g in grouped.items()},
                {p: np.array([v for _, v in g], dtype=np.float64) for p, g in grouped.items()},
                flagged,
            )

        return self._once(("minutes", window, point_ids), fetch)

    def last_seen_ms(self, point_ids: tuple[int, ...]) -> F64:
        """Time (ms since the epoch) of each point's newest reading at or before now, in the
        order of `point_ids`; NaN for a point that never reported. An array, not a dict of
        200,000 datetimes at every data-quality run of a province."""

        def fetch() -> F64:
            # The cycle's readings scans already know the newest reading of every point that
            # reported within their window; only the others need an index probe.
            ids = np.array(point_ids, dtype=np.int64)
            seen = np.full(ids.size, np.nan)
            for (window, share), scanned in self.scans.items():
                stats = self.point_stats(window, scanned, share)
                seen = np.fmax(seen, stats.of("last_ms", ids, np.nan))
            missing = np.flatnonzero(np.isnan(seen))
            if missing.size:
                rows = self.conn.execute(
                    "SELECT p.id, (extract(epoch FROM r.ts) * 1000)::int8"
                    " FROM unnest(%(ids)s::int4[]) AS p(id)"
                    " JOIN LATERAL (SELECT ts FROM readings WHERE point_id = p.id"
                    " AND ts <= %(now)s ORDER BY ts DESC LIMIT 1) r ON true",
                    {"ids": Int4s(ids[missing]), "now": self.now},
                ).fetchall()
                found: dict[int, int] = dict(rows)
                seen[missing] = [found.get(p, np.nan) for p in ids[missing].tolist()]
            return seen

        return self._once(("last_seen", point_ids), fetch)

    def drops(
        self, window: timedelta, point_ids: tuple[int, ...], reset_share: float
    ) -> tuple[F64, F64]:
        """(resets, negatives) of each of `point_ids` within the window (see point_stats)."""
        stats = self.point_stats(window, point_ids, reset_share)
        ids = np.array(point_ids, dtype=np.int64)
        return stats.of("resets", ids, 0.0), stats.of("negatives", ids, 0.0)

    def completeness(self, window: timedelta, point_ids: tuple[int, ...]) -> tuple[F64, float]:
        """Sum of bucket completeness over the whole 15-minute buckets of the window, and the
        number of buckets expected. A bucket the rollup never wrote counts as 0."""

        def fetch() -> tuple[F64, float]:
            end = bucket_floor(self.now)
            n_buckets = max(1.0, window / BUCKET)
            start = end - BUCKET * int(n_buckets)
            ids = np.array(point_ids, dtype=np.int64)
            if self.cache is not None and self.cache.covers(window):
                hi = int(end.timestamp()) // BUCKET_S
                at = self.cache.rows_of(ids)
                sums = np.zeros(ids.size)
                known = at >= 0
                sums[known] = self.cache.window_completeness(hi - int(n_buckets), hi, at[known])
                return sums, float(int(n_buckets))
            rows = self.conn.execute(
                "SELECT point_id, sum(least(completeness, 1.0)) FROM consumption_15min "
                "WHERE point_id = ANY(%(ids)s) AND bucket >= %(start)s AND bucket < %(end)s "
                "GROUP BY point_id",
                {"ids": Int4s(point_ids), "start": start, "end": end},
            ).fetchall()
            found = {r[0]: float(r[1]) for r in rows}
            return np.array([found.get(p, 0.0) for p in point_ids]), float(int(n_buckets))

        sums, expected = self._once(("completeness", window, point_ids), fetch)
        return sums, expected


def bucket_floor(ts: datetime) -> datetime:
    """Start of the 15-minute bucket holding ts (aligned as date_bin on 2000-01-01 UTC)."""
    return ts - (ts - EPOCH) % BUCKET


def _ceil_bucket(ts: datetime) -> int:
    """Number of the first bucket starting at or after ts."""
    return -(-int(ts.timestamp() * 1000) // (BUCKET_S * 1000))
