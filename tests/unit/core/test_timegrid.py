from datetime import UTC, date, datetime

import numpy as np
import pytest

from energywatch.core.timegrid import (
    local_midnights,
    local_year_of,
    to_ms,
    year_elapsed,
)


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return to_ms(datetime(year, month, day, hour, minute, tzinfo=UTC))


def test_local_days_follow_the_sites_midnight() -> None:
    # Shanghai midnight is 16:00 UTC the day before
    days, midnights = local_midnights("Asia/Shanghai", ms(2026, 11, 19, 16), ms(2026, 11, 21, 16))
    assert days == [date(2026, 11, 20), date(2026, 11, 21)]
    assert midnights.tolist() == [ms(2026, 11, 19, 16), ms(2026, 11, 20, 16)]
    # a range beginning mid-day still names the day it begins in
    days, _ = local_midnights("Asia/Shanghai", ms(2026, 11, 20, 3), ms(2026, 11, 20, 4))
    assert days == [date(2026, 11, 20)]


def test_a_daylight_saving_day_is_23_hours_long() -> None:
    days, midnights = local_midnights("Europe/Berlin", ms(2026, 3, 28, 23), ms(2026, 3, 30, 22))
    assert days == [date(2026, 3, 29), date(2026, 3, 30)]
    assert np.diff(midnights).tolist() == [23 * 3_600_000]


def test_year_elapsed_in_local_time() -> None:
    shares = year_elapsed("Asia/Shanghai", ms(2025, 12, 31, 16))  # 2026-01-01 00:00 local
    assert (shares.year, shares.elapsed, shares.covered) == (2026, 0.0, 0.0)
    shares = year_elapsed("Asia/Shanghai", ms(2026, 7, 2, 16))
    assert shares.year == 2026 and shares.elapsed == pytest.approx(183 / 365)  # 3 July local
    assert shares.covered == shares.elapsed  # no data start given: the year so far
    # the same instant is 16:00 on 31 December in UTC
    assert year_elapsed("UTC", ms(2025, 12, 31, 16)).elapsed == pytest.approx(1 - 8 / 8760)


def test_covered_share_runs_from_the_first_data_of_the_year() -> None:
    now = ms(2026, 12, 5, 16)  # 6 December 00:00 local
    shares = year_elapsed("Asia/Shanghai", now, data_since_ms=now - 86_400_000)
    assert shares.elapsed == pytest.approx(339 / 365)
    assert shares.covered == pytest.approx(1 / 365)
    # data older than the year count from its start; data from the future cover nothing
    assert year_elapsed("Asia/Shanghai", now, ms(2020, 1, 1)).covered == shares.elapsed
    assert year_elapsed("Asia/Shanghai", now, now + 1000).covered == 0.0
    # a past year is judged at its end
    past = year_elapsed("Asia/Shanghai", now, now - 86_400_000, year=2025)
    assert (past.elapsed, past.covered) == (1.0, 0.0)


def test_local_year_of_each_timestamp() -> None:
    stamps = np.array([ms(2025, 12, 31, 15, 59), ms(2025, 12, 31, 16), ms(2026, 6, 1)])
    assert local_year_of("Asia/Shanghai", stamps).tolist() == [2025, 2026, 2026]
