"""The recent 15-minute rollups of every point, held in memory and refreshed incrementally.

Rolling energy, emissions, intensity, PUE, supply coal rate and completeness all sum the
same consumption_15min rows over trailing windows. Summing a day of buckets for thousands of
points in SQL every few seconds costs hundreds of milliseconds; instead the evaluator keeps
a ring of the last `horizon` buckets per point and, each cycle, reads only the rows the
rollup wrote since the previous read (`computed_at`, with a margin for transactions that
committed late). A full reload every `resync` catches rows the rollup deleted. Year-to-date
sums are a per-site base (buckets of the year before the ring, re-read hourly) plus the
ring's part.

Slot k of a point's ring holds bucket number b (15-minute buckets since the epoch) where
k = b mod n_slots; `bucket_no` says which bucket a slot holds, so a stale slot never counts.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg

from energywatch.core.thresholds import F64, I64

BUCKET_S = 900
_COLUMNS = "point_id, (extract(epoch FROM bucket)::bigint / 900), quantity, tce, tco2, completeness"
MARGIN = timedelta(seconds=60)  # rows whose transaction committed a little after computed_at
SPARE_SLOTS = 8  # two hours of slack between the horizon and a slot's reuse


def bucket_no(ts: datetime) -> int:
    return int(ts.timestamp()) // BUCKET_S


@dataclass
class RollupCache:
    horizon: timedelta = timedelta(hours=25)
    resync: timedelta = timedelta(minutes=10)
    base_refresh: timedelta = timedelta(hours=1)
    n_slots: int = 0
    row_of: dict[int, int] = field(default_factory=dict)  # point id -> row
    point_ids: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    bucket: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    values: F64 = field(default_factory=lambda: np.zeros((4, 0, 0)))  # q, tce, tco2, compl.
    _read_until: datetime | None = None
    _points: Collection[int] | None = None  # the registry's points the layout was checked with
    _synced_at: float = 0.0
    _base_at: float = -1e18
    _base_cutoff: int = 0
    _base: dict[int, tuple[float, float]] = field(default_factory=dict)  # site -> tce, tco2
    _first: dict[int, datetime] = field(default_factory=dict)  # site -> first bucket this year

    def __post_init__(self) -> None:
        self.n_slots = int(self.horizon.total_seconds()) // BUCKET_S + 1 + SPARE_SLOTS

    # --- refresh ---------------------------------------------------------------------------

    def refresh(
        self,
        conn: psycopg.Connection,
        point_ids: Collection[int],
        changed: Collection[int] | None = None,
    ) -> None:
        """Bring the ring up to date: everything now and then, else the rows written since
        the last read; or, given the points the rollup just said it rewrote (`changed`), the
        ring's rows of those points only, which costs what changed."""
        if point_ids is not self._points:  # a new registry snapshot: compare the sets once
            if self._read_until is None or set(point_ids) != set(self.row_of):
                self._read_until = None
            self._points = point_ids
        full = (
            time.monotonic() - self._synced_at > self.resync.total_seconds()
            or self._read_until is None
        )
        if full:
            self._layout(list(point_ids))
        started = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        if full:
            since = started - timedelta(seconds=BUCKET_S * self.n_slots)
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM consumption_15min WHERE bucket >= %s", (since,)
            ).fetchall()
            self._synced_at = time.monotonic()
        elif changed is not None:
            assert self._read_until is not None
            since = started - timedelta(seconds=BUCKET_S * self.n_slots)
            # Only the rows of those points written since the last read: a pass rewrites a
            # bucket or two of a point, not its whole ring.
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM consumption_15min "
                "WHERE point_id = ANY(%s) AND bucket >= %s AND computed_at > %s",
                (list(changed), since, self._read_until - MARGIN),
                prepare=False,
            ).fetchall()
            self._store(rows)
            return  # the next read since _read_until still catches whatever else was written
        else:
            assert self._read_until is not None
            # Not prepared: a generic plan for `computed_at > $1` guesses a third of the table
            # and scans it all; the actual bound selects a minute of rows through the index.
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM consumption_15min WHERE computed_at > %s",
                (self._read_until - MARGIN,),
                prepare=False,
            ).fetchall()
        self._read_until = started
        self._store(rows)

    def _layout(self, point_ids: list[int]) -> None:
        ids = np.array(sorted(point_ids), dtype=np.int64)
        self.point_ids = ids
        self.row_of = {int(p): i for i, p in enumerate(ids)}
        self.bucket = np.full((ids.size, self.n_slots), -1, np.int64)
        self.values = np.zeros((4, ids.size, self.n_slots))

    def _store(self, rows: list[tuple[int, int, float, float, float, float]]) -> None:
        if not rows:
            return
        table = np.array(rows, dtype=np.float64)
        ids = table[:, 0].astype(np.int64)
        known = np.isin(ids, self.point_ids)
        table, ids = table[known], ids[known]
        if not ids.size:
            return
        row = np.searchsorted(self.point_ids, ids)
        bno = table[:, 1].astype(np.int64)
        newest = max(int(self.bucket.max(initial=-1)), int(bno.max()))
        fresh = bno > newest - self.n_slots  # never let an old row evict a newer one
        row, bno = row[fresh], bno[fresh]
        vals = table[fresh, 2:]
        slot = bno % self.n_slots
        keep = bno >= self.bucket[row, slot]
        row, slot, bno, vals = row[keep], slot[keep], bno[keep], vals[keep]
        self.bucket[row, slot] = bno
        self.values[:, row, slot] = vals.T

    # --- queries ---------------------------------------------------------------------------

    def covers(self, window: timedelta) -> bool:
        return window <= self.horizon

    def window_sums(self, lo: int, hi: int, rows: I64 | None = None) -> tuple[F64, I64]:
        """(4, n_points) sums of quantity, tce, tco2, completeness over buckets [lo, hi), and
        the number of buckets each point has there; of the points in `rows` only (in that
        order) when given, so that an evaluation of a few sites costs a few rows."""
        bucket = self.bucket if rows is None else self.bucket[rows]
        mask = (bucket >= lo) & (bucket < hi)
        return self._sums(mask, rows)

    def window_sums_from(
        self, lo_per_point: I64, hi: int, rows: I64 | None = None
    ) -> tuple[F64, I64]:
        """As window_sums, from a first bucket per point (per row of `rows` when given)."""
        bucket = self.bucket if rows is None else self.bucket[rows]
        mask = (bucket >= lo_per_point[:, None]) & (bucket < hi)
        return self._sums(mask, rows)

    def _sums(self, mask: npt.NDArray[np.bool_], rows: I64 | None) -> tuple[F64, I64]:
        values = self.values if rows is None else self.values[:, rows]
        sums = np.stack([(v * mask).sum(axis=1) for v in values])
        return sums, mask.sum(axis=1)

    def year_base(
        self, conn: psycopg.Connection, now: datetime, site_tz: dict[int, str]
    ) -> tuple[dict[int, tuple[float, float]], int]:
        """Per site (tce, tco2) of consumption buckets of the current local year before the
        cutoff bucket, and that cutoff (re-read hourly)."""
        if time.monotonic() - self._base_at > self.base_refresh.total_seconds():
            cutoff = bucket_no(now) - (self.n_slots - SPARE_SLOTS - 1)
            starts = {sid: year_start(now, tz) for sid, tz in site_tz.items()}
            rows = conn.execute(
                "SELECT p.site_id, sum(c.tce * p.balance_sign), sum(c.tco2 * p.balance_sign),"
                " min(c.bucket)"
                " FROM consumption_15min c "
                "JOIN points p ON p.id = c.point_id "
                "JOIN unnest(%s::int[], %s::timestamptz[]) AS y(site_id, y0) "
                "  ON y.site_id = p.site_id "
                "WHERE p.balance_sign <> 0 AND c.bucket >= y.y0 AND c.bucket < %s "
                "GROUP BY p.site_id",
                (
                    list(starts),
                    list(starts.values()),
                    datetime.fromtimestamp(cutoff * BUCKET_S, UTC),
                ),
            ).fetchall()
            self._base = {r[0]: (float(r[1]), float(r[2])) for r in rows}
            self._first = {r[0]: r[3] for r in rows}
            self._base_cutoff = cutoff
            self._base_at = time.monotonic()
        return self._base, self._base_cutoff

    def first_buckets(
        self, conn: psycopg.Connection, now: datetime, site_tz: dict[int, str]
    ) -> dict[int, datetime]:
        """Per site, the first bucket of the current local year with a boundary figure: where
        its data begin, for the share of the year they cover (energywatch/core/budget.py).
        Sites with nothing before the cutoff (new sites) are looked up after it each time,
        within the cache's window, until they have data there."""
        _, cutoff = self.year_base(conn, now, site_tz)
        missing = [sid for sid in site_tz if sid not in self._first]
        if missing:
            rows = conn.execute(
                "SELECT p.site_id, min(c.bucket) FROM consumption_15min c"
                " JOIN points p ON p.id = c.point_id"
                " WHERE p.site_id = ANY(%s) AND p.balance_sign <> 0 AND c.bucket >= %s"
                " GROUP BY p.site_id",
                (missing, datetime.fromtimestamp(cutoff * BUCKET_S, UTC)),
            ).fetchall()
            for sid, first in rows:
                self._first[sid] = max(first, year_start(now, site_tz[sid]))
        return self._first


def year_start(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
