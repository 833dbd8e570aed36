"""Bucket grids and local days for a site's timezone (pure Python, no I/O).

The kernels take plain numbers -- a grid origin in ms and bucket indices where days begin --
and this module derives them from an IANA timezone name, so that days and months follow the
enterprise's clock (Asia/Shanghai for most) while the kernels know nothing of timezones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from energywatch.core.buckets import BUCKET_MS
from energywatch.core.series import I64


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Grid:
    origin: int  # ms since the epoch, a local bucket boundary
    n_buckets: int
    width: int = BUCKET_MS

    @property
    def end(self) -> int:
        return self.origin + self.n_buckets * self.width

    def bucket_starts(self) -> I64:
        return self.origin + self.width * np.arange(self.n_buckets, dtype=np.int64)


def _utc_offset_ms(tz: ZoneInfo, ms: int) -> int:
    offset = from_ms(ms).astimezone(tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() * 1000)


def grid_covering(timezone: str, start_ms: int, end_ms: int, width: int = BUCKET_MS) -> Grid:
    """The smallest grid of local bucket boundaries that covers [start_ms, end_ms)."""
    tz = ZoneInfo(timezone)
    offset = _utc_offset_ms(tz, start_ms)
    origin = ((start_ms + offset) // width) * width - offset
    n = max(1, -((origin - end_ms) // width))
    return Grid(origin, int(n), width)


def local_day_starts(timezone: str, grid: Grid) -> tuple[list[date], I64]:
    """Local dates wholly or partly in the grid, and the bucket index where each begins
    (clipped to the grid), plus the grid's end: the `day_starts` of buckets.day_completeness."""
    tz = ZoneInfo(timezone)
    first = from_ms(grid.origin).astimezone(tz).date()
    last = from_ms(grid.end - 1).astimezone(tz).date()
    days: list[date] = []
    starts: list[int] = []
    day = first
    while day <= last:
        midnight = to_ms(datetime(day.year, day.month, day.day, tzinfo=tz))
        days.append(day)
        starts.append(min(max((midnight - grid.origin) // grid.width, 0), grid.n_buckets))
        day += timedelta(days=1)
    starts.append(grid.n_buckets)
    return days, np.asarray(starts, dtype=np.int64)


def local_year_bounds(timezone: str, year: int) -> tuple[int, int]:
    tz = ZoneInfo(timezone)
    return (
        to_ms(datetime(year, 1, 1, tzinfo=tz)),
        to_ms(datetime(year + 1, 1, 1, tzinfo=tz)),
    )


def year_elapsed(timezone: str, now_ms: int) -> tuple[int, float]:
    """(local year, share of it gone by `now_ms`)."""
    year = from_ms(now_ms).astimezone(ZoneInfo(timezone)).year
    start, end = local_year_bounds(timezone, year)
    return year, (now_ms - start) / (end - start)


def local_year_of(timezone: str, ms: I64) -> I64:
    """Local calendar year of each timestamp (vectorised via the year boundaries)."""
    if ms.size == 0:
        return np.empty(0, dtype=np.int64)
    tz = ZoneInfo(timezone)
    lo = from_ms(int(ms.min())).astimezone(tz).year
    hi = from_ms(int(ms.max())).astimezone(tz).year
    bounds = np.asarray([local_year_bounds(timezone, y)[0] for y in range(lo, hi + 2)])
    return (lo + np.searchsorted(bounds, ms, side="right") - 1).astype(np.int64)
