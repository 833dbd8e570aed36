"""Local days and years for a site's timezone (pure Python, no I/O).

The kernels take plain numbers -- instants in ms where days and years begin -- and this
module derives them from an IANA timezone name, so that days and months follow the
enterprise's clock (Asia/Shanghai for most) while the kernels know nothing of timezones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from energywatch.core.series import I64


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def local_midnights(timezone: str, start_ms: int, end_ms: int) -> tuple[list[date], I64]:
    """Local dates wholly or partly in [start_ms, end_ms), and the instant (ms) each begins."""
    tz = ZoneInfo(timezone)
    day = from_ms(start_ms).astimezone(tz).date()
    last = from_ms(end_ms - 1).astimezone(tz).date()
    days: list[date] = []
    midnights: list[int] = []
    while day <= last:
        days.append(day)
        midnights.append(to_ms(datetime(day.year, day.month, day.day, tzinfo=tz)))
        day += timedelta(days=1)
    return days, np.asarray(midnights, dtype=np.int64)


def local_year_bounds(timezone: str, year: int) -> tuple[int, int]:
    tz = ZoneInfo(timezone)
    return (
        to_ms(datetime(year, 1, 1, tzinfo=tz)),
        to_ms(datetime(year + 1, 1, 1, tzinfo=tz)),
    )


class PeriodShares(NamedTuple):
    year: int  # local calendar year the period is
    start_ms: int
    end_ms: int
    elapsed: float  # share of the period gone by now, in [0, 1]
    covered: float  # share of the period from the first data (or its start) to now, <= elapsed


def period_shares(
    year: int, start_ms: int, end_ms: int, now_ms: int, data_since_ms: int | None = None
) -> PeriodShares:
    """The one period-elapsed helper (budgets: energywatch/core/budget.py)."""
    now = min(max(now_ms, start_ms), end_ms)
    since = start_ms if data_since_ms is None else min(max(data_since_ms, start_ms), now)
    length = end_ms - start_ms
    return PeriodShares(year, start_ms, end_ms, (now - start_ms) / length, (now - since) / length)


def year_elapsed(
    timezone: str, now_ms: int, data_since_ms: int | None = None, year: int | None = None
) -> PeriodShares:
    """Shares of a local calendar year (by default the one `now_ms` falls in) gone by `now_ms`
    and covered by data since `data_since_ms`."""
    year = year or from_ms(now_ms).astimezone(ZoneInfo(timezone)).year
    start, end = local_year_bounds(timezone, year)
    return period_shares(year, start, end, now_ms, data_since_ms)


def local_year_of(timezone: str, ms: I64) -> I64:
    """Local calendar year of each timestamp (vectorised via the year boundaries)."""
    if ms.size == 0:
        return np.empty(0, dtype=np.int64)
    tz = ZoneInfo(timezone)
    lo = from_ms(int(ms.min())).astimezone(tz).year
    hi = from_ms(int(ms.max())).astimezone(tz).year
    bounds = np.asarray([local_year_bounds(timezone, y)[0] for y in range(lo, hi + 2)])
    return (lo + np.searchsorted(bounds, ms, side="right") - 1).astype(np.int64)
