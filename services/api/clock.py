"""Local days and months of a site (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def now_utc() -> datetime:
    return datetime.now(UTC)


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def local_today(timezone: str, now: datetime | None = None) -> date:
    return (now or now_utc()).astimezone(ZoneInfo(timezone)).date()


def day_range(day: date, timezone: str) -> tuple[datetime, datetime]:
    return local_midnight(day, timezone), local_midnight(day + timedelta(days=1), timezone)


def month_start(month: date) -> date:
    return month.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_range(month: date, timezone: str) -> tuple[datetime, datetime]:
    first = month_start(month)
    return local_midnight(first, timezone), local_midnight(next_month(first), timezone)


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the month's first day; ValueError otherwise."""
    year, sep, month = text.partition("-")
    if not sep or len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError("a month is written YYYY-MM")
    if not 1 <= int(month) <= 12:
        raise ValueError("a month is written YYYY-MM, with MM from 01 to 12")
    return date(int(year), int(month), 1)


EARLIEST_YEAR = 1990
LATEST_YEAR = 2200


def in_supported_years(*moments: datetime | None) -> bool:
    """Timestamps the API computes with (windows reach back from them): far-off years would
    overflow Python's datetime arithmetic and mean nothing for metering data."""
    return all(m is None or EARLIEST_YEAR <= m.year <= LATEST_YEAR for m in moments)
