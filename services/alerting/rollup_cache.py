"""The recent 15-minute rollups of every point, held in memory and refreshed incrementally.

Rolling energy, emissions, intensity, PUE, supply coal rate and completeness all sum the
same consumption_15min rows over trailing windows. Summing a day of buckets for thousands of
points in SQL every few seconds costs hundreds of milliseconds; instead the evaluator keeps
a ring of the last `horizon` buckets per point (energywatch/core/ring.py) and, each cycle,
reads only the rows the rollup wrote since the previous read (`computed_at`, with a margin
for transactions that committed late). A full reload every `resync` catches rows the rollup
deleted. Year-to-date sums are a per-site base (buckets of the year before the ring, re-read
hourly) plus the ring's part.

Memory follows what the rules read, not points x columns: a province has 200,000 points, and
a day of four float64 columns for each would be 700 MB. So the ring keeps
- completeness (16-bit fixed point, within 7.6e-6: energywatch/core/ring.py) for every
  point: the completeness rule judges each point;
- quantity, tce and tCO2 (float64: they become the figures an alert reports) only for the
  points whose sums a site figure can read (`Registry.summed_points`): level-1 meters,
  points naming a product, roles other than consumption, and level-2 meters of sites with
  process units. A province's level-2 and level-3 sub-meters of sites without units are
  read by no rule's sums. 200,000 points of which 8,000 summed: 44 + 21 MB.
Rows are read as packed binary records (energywatch/storage/binary_copy.py), a full reload
in slices of points, so no Python object is made per row and the reload's peak is one slice.
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

from energywatch.core import ring
from energywatch.core.thresholds import F64, I64
from energywatch.storage.binary_copy import fetch_packed, keys_per_packed_row

BUCKET_S = 900
MARGIN = timedelta(seconds=60)  # rows whose transaction committed a little after computed_at
RECENT = timedelta(hours=1)  # the buckets an event re-reads of the points it names
SPARE_SLOTS = 8  # two hours of slack between the horizon and a slot's reuse
RELOAD_SLICE = 5_000  # points per statement of a full reload (~550,000 rows, 22 MB, a day each)
ROW = np.dtype(
    [
        ("point_id", ">i4"),
        ("bucket", ">i4"),
        ("quantity", ">f8"),
        ("tce", ">f8"),
        ("tco2", ">f8"),
        ("completeness", ">f8"),
    ]
)
_PACKED = (
    "SELECT string_agg(int4send(point_id)"
    " || int4send((extract(epoch FROM bucket)::int8 / 900)::int4)"
    " || float8send(quantity) || float8send(tce) || float8send(tco2)"
    " || float8send(completeness), ''::bytea) FROM consumption_15min WHERE {where}"
    " GROUP BY point_id / %s"  # rows of a few hundred points: binary_copy.fetch_packed
)


def bucket_no(ts: datetime) -> int:
    return int(ts.timestamp()) // BUCKET_S


@dataclass
class RollupCache:
    horizon: timedelta = timedelta(hours=25)
    resync: timedelta = timedelta(minutes=10)
    base_refresh: timedelta = timedelta(hours=1)
    n_slots: int = 0
    points_per_row: int = 0  # of a packed read (binary_copy.fetch_packed)
    head: int = -1  # the newest bucket the ring holds (energywatch/core/ring.py)
    point_ids: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted
    summed_row: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # row in sums, or -1
    completeness: npt.NDArray[np.uint16] = field(
        default_factory=lambda: np.zeros((0, 0), np.uint16)
    )
    sums: F64 = field(default_factory=lambda: np.zeros((3, 0, 0)))  # quantity, tce, tco2
    _read_until: datetime | None = None
    _points: Collection[int] | None = None  # the registry's points the layout was checked with
    _synced_at: float = 0.0
    _base_at: float = -1e18
    _base_cutoff: int = 0
    _base: dict[int, tuple[float, float]] = field(default_factory=dict)  # site -> tce, tco2
    _first: dict[int, datetime] = field(default_factory=dict)  # site -> first bucket this year

    def __post_init__(self) -> None:
        self.n_slots = int(self.horizon.total_seconds()) // BUCKET_S + 1 + SPARE_SLOTS
        if not self.points_per_row:
            self.points_per_row = keys_per_packed_row(ROW, self.n_slots)

    # --- refresh ---------------------------------------------------------------------------

    def refresh(
        self,
        conn: psycopg.Connection,
        point_ids: Collection[int],
        summed: Collection[int],
        changed: Collection[int] | None = None,
    ) -> None:
        """Bring the ring up to date: everything now and then, else the rows written since
        the last read; or, given the points the rollup just said it rewrote (`changed`), the
        last hour's rows of those points only, which costs what changed (empty: nothing, for
        an evaluation that only time prompts). `summed`: the points whose quantity, tce and
        tCO2 are kept (the others' completeness only)."""
        if point_ids is not self._points:  # a new registry snapshot: compare the sets once
            if self._read_until is None or not self._same_layout(point_ids, summed):
                self._read_until = None
            self._points = point_ids
        full = (
            time.monotonic() - self._synced_at > self.resync.total_seconds()
            or self._read_until is None
        )
        if not full and changed is not None and not changed:
            return  # time alone prompted the evaluation: nothing to read
        started = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        since = started - timedelta(seconds=BUCKET_S * self.n_slots)
        if full:
            self._layout(point_ids, summed)
            ids = self.point_ids
            for at in range(0, ids.size, RELOAD_SLICE):
                last = ids[min(at + RELOAD_SLICE, ids.size) - 1]
                self._store(
                    fetch_packed(
                        conn,
                        _PACKED.format(where="point_id BETWEEN %s AND %s AND bucket >= %s"),
                        (int(ids[at]), int(last), since, self.points_per_row),
                        ROW,
                    )
                )
            self._synced_at = time.monotonic()
        elif changed is not None:
            assert self._read_until is not None
            # The recent buckets of those points: what a live pass rewrites. A late reading's
            # older bucket reaches the ring at the next read since _read_until.
            self._store(
                fetch_packed(
                    conn,
                    _PACKED.format(where="point_id = ANY(%s) AND bucket >= %s"),
                    (list(changed), max(since, started - RECENT), self.points_per_row),
                    ROW,
                )
            )
            return  # the next read since _read_until still catches whatever else was written
        else:
            assert self._read_until is not None
            # The actual bound selects a minute of rows through the index on computed_at.
            self._store(
                fetch_packed(
                    conn,
                    _PACKED.format(where="computed_at > %s AND bucket >= %s"),
                    (self._read_until - MARGIN, since, self.points_per_row),
                    ROW,
                )
            )
        self._read_until = started

    def _same_layout(self, point_ids: Collection[int], summed: Collection[int]) -> bool:
        ids = np.fromiter(point_ids, np.int64, len(point_ids))
        if ids.size != self.point_ids.size or not np.array_equal(np.sort(ids), self.point_ids):
            return False
        have = self.point_ids[self.summed_row >= 0]
        want = np.sort(np.fromiter(summed, np.int64, len(summed)))
        return bool(np.array_equal(have, want))

    def _layout(self, point_ids: Collection[int], summed: Collection[int]) -> None:
        ids = np.sort(np.fromiter(point_ids, np.int64, len(point_ids)))
        kept = np.isin(ids, np.fromiter(summed, np.int64, len(summed)))
        self.point_ids = ids
        self.summed_row = np.where(kept, np.cumsum(kept) - 1, -1).astype(np.int64)
        n_summed = int(kept.sum())
        if self.completeness.shape == (ids.size, self.n_slots):
            self.completeness.fill(ring.NO_SHARE)  # the same size: no second copy at the peak
        else:
            self.completeness = np.full((ids.size, self.n_slots), ring.NO_SHARE, np.uint16)
        if self.sums.shape[1:] == (n_summed, self.n_slots):
            self.sums.fill(np.nan)
        else:
            self.sums = np.full((3, n_summed, self.n_slots), np.nan)
        self.head = -1

    def rows_of(self, point_ids: npt.ArrayLike) -> I64:
        """The ring's row of each point id, -1 for a point it does not hold."""
        ids = np.asarray(point_ids, dtype=np.int64)
        at = np.searchsorted(self.point_ids, ids)
        at = np.minimum(at, max(self.point_ids.size - 1, 0))
        found = self.point_ids.size > 0
        hit = (self.point_ids[at] == ids) if found else np.zeros(ids.size, bool)
        return np.where(hit, at, -1).astype(np.int64)

    def _store(self, table: np.ndarray) -> None:
        if not table.size:
            return
        rows = self.rows_of(table["point_id"])
        bno = table["bucket"].astype(np.int64)
        newest = int(bno.max())
        if self.head < 0:
            self.head = newest
        elif newest > self.head:
            ring.clear_slots(self.completeness, self.head, newest)
            ring.clear_slots(self.sums, self.head, newest)
            self.head = newest
        keep = (rows >= 0) & (bno > self.head - self.n_slots)  # never an old row over a newer
        rows, bno, table = rows[keep], bno[keep], table[keep]
        slot = bno % self.n_slots
        # as the SQL path reads it: a bucket counts at most whole
        self.completeness[rows, slot] = ring.to_shares(table["completeness"])
        summed = self.summed_row[rows]
        has = summed >= 0
        for c, name in enumerate(("quantity", "tce", "tco2")):
            self.sums[c, summed[has], slot[has]] = table[name][has]

    # --- queries ---------------------------------------------------------------------------

    def covers(self, window: timedelta) -> bool:
        return window <= self.horizon

    def window_sums(self, lo: int, hi: int, rows: I64 | None = None) -> tuple[F64, I64]:
        """(3, n) sums of quantity, tce and tCO2 over buckets [lo, hi) of the ring's `rows`
        (all of them when None), and how many buckets each has there. A point whose sums the
        ring does not keep has none."""
        n = self.point_ids.size if rows is None else rows.size
        return self.window_sums_from(np.full(n, lo, np.int64), hi, rows)

    def window_sums_from(
        self, lo_per_point: I64, hi: int, rows: I64 | None = None
    ) -> tuple[F64, I64]:
        """As window_sums, from a first bucket per point (per row of `rows` when given)."""
        summed = self.summed_row if rows is None else self.summed_rows(rows)
        return ring.window_sums(self.sums, summed, lo_per_point, hi, self.head)

    def summed_rows(self, rows: I64) -> I64:
        """Where the sums of the ring's `rows` are kept (-1: not kept, or no such row)."""
        return np.where(rows >= 0, self.summed_row[rows], -1)

    def window_completeness(self, lo: int, hi: int, rows: I64) -> F64:
        """Per row of `rows`, the sum of its buckets' completeness over [lo, hi)."""
        return ring.share_sums(self.completeness, rows, lo, hi, self.head)

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
