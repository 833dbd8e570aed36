"""An injected clock for the tests whose answer depends on the hour or the date.

A test marked with `at_instants` runs once per instant below: the `clock` fixture moves
Python's wall clock there (time-machine, ticking from that instant on) before any fixture
that reads the time builds its data, so the product and the test agree on "now".
`time.monotonic` is left alone, so deadlines and timeouts still measure real time.
PostgreSQL's `now()` is not moved: a test run at an instant may only compare the database's
clock with times the database itself wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

SITE_TZ = ZoneInfo("Asia/Shanghai")  # the test worlds' sites keep the registry's default


def local_day(moment: datetime, tz: ZoneInfo = SITE_TZ) -> date:
    """The site's calendar day at `moment` (reports and completeness count local days)."""
    return moment.astimezone(tz).date()


def local_yesterday(moment: datetime, tz: ZoneInfo = SITE_TZ) -> date:
    return local_day(moment, tz) - timedelta(days=1)


# Edges where a day, a quarter-hour or a year turns, in UTC or in the sites' local time.
# The clock ticks on from each, so a test that takes a few seconds crosses the edges the
# instants sit just before.
INSTANTS: dict[str, datetime] = {
    "just-after-local-midnight": datetime(2026, 12, 5, 16, 0, 5, tzinfo=UTC),
    "just-before-utc-midnight": datetime(2026, 12, 5, 23, 59, 58, tzinfo=UTC),
    "just-after-utc-midnight": datetime(2026, 12, 6, 0, 0, 5, tzinfo=UTC),
    "quarter-hour-edge": datetime(2026, 6, 15, 18, 44, 59, 500_000, tzinfo=UTC),
    "local-new-year": datetime(2026, 12, 31, 16, 0, 5, tzinfo=UTC),
    "utc-new-year": datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC),
}


def next_local_midnight(now: datetime) -> datetime:
    """The sites' first local midnight after `now`."""
    tomorrow = local_day(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), SITE_TZ).astimezone(UTC)


def _next_local_new_year(now: datetime) -> datetime:
    return datetime(local_day(now).year + 1, 1, 1, tzinfo=SITE_TZ).astimezone(UTC)


# The same edges, next after the real time. For code that also reads PostgreSQL's clock and
# so cannot be moved months away from it (the alerting rollup ring keeps the buckets of a
# horizon before the database's now()): these lie ahead of it, by a year at most.
UPCOMING: dict[str, Callable[[datetime], datetime]] = {
    "next-local-midnight": lambda now: next_local_midnight(now) + timedelta(seconds=5),
    "before-next-utc-midnight": lambda now: (
        datetime.combine(now.date() + timedelta(days=1), time(0), UTC) - timedelta(seconds=2)
    ),
    "before-next-quarter-hour": lambda now: (
        now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        + timedelta(minutes=15, seconds=-0.5)
    ),
    "next-local-new-year": lambda now: _next_local_new_year(now) + timedelta(seconds=5),
    "next-utc-new-year": lambda now: datetime(now.year + 1, 1, 1, 0, 0, 5, tzinfo=UTC),
}

at_instants = pytest.mark.parametrize("clock", list(INSTANTS), indirect=True)
"""Run the test once at each of INSTANTS (the test or its fixtures must use `clock`)."""

at_upcoming_instants = pytest.mark.parametrize("clock", list(UPCOMING), indirect=True)
"""Run the test once at each of UPCOMING, computed from the real time when it starts."""


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The current instant: the real one, or the injected one under `at_instants` or
    `at_upcoming_instants`."""
    name: str | None = getattr(request, "param", None)
    if name is None:
        yield datetime.now(UTC)
        return
    instant = INSTANTS[name] if name in INSTANTS else UPCOMING[name](datetime.now(UTC))
    with time_machine.travel(instant, tick=True):
        yield instant
