"""The rollup's options follow the settings."""

from __future__ import annotations

from energywatch.settings import DatabaseSettings, Settings
from services.rollup.command import options_from
from services.rollup.worker import DAY_MS, PassReport


def test_the_raw_data_horizon_follows_retain_days() -> None:
    kept = options_from(Settings(demo=True))
    assert kept.retain_ms is None and kept.horizon(100 * DAY_MS) is None
    options = options_from(Settings(demo=True, database=DatabaseSettings(retain_days=30)))
    assert options.retain_ms == 30 * DAY_MS
    # one day of margin: the day chunk retention drops next, and the lookback before it
    assert options.horizon(100 * DAY_MS) == 71 * DAY_MS


def test_a_pass_progressed_when_it_cleared_some_dirty_bucket() -> None:
    assert not PassReport(locked=False).progressed
    assert not PassReport(locked=True, points=0).progressed
    assert PassReport(locked=True, points=3, spans=0).progressed  # instantaneous points only
    assert PassReport(locked=True, points=3, spans=4, failed=3).progressed
    assert not PassReport(locked=True, points=3, spans=4, failed=4).progressed
