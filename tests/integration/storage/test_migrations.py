"""Schema migrations on a real, empty PostgreSQL database."""

from __future__ import annotations

import sqlalchemy as sa

from energywatch.storage.engine import make_engine
from energywatch.storage.migrate import current_heads, downgrade, script_heads, upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names()) | set(sa.inspect(conn).get_view_names())
    finally:
        engine.dispose()


def test_upgrade_creates_schema_and_is_idempotent(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    first = _tables(empty_db_url)
    assert {"readings", "sites", "points", "consumption_15min", "consumption_daily"} <= first
    upgrade(empty_db_url)  # second run changes nothing and does not fail
    assert _tables(empty_db_url) == first
    assert current_heads(empty_db_url) == script_heads()


def test_downgrade_upgrade_round_trip(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    before = _tables(empty_db_url)
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) <= {"alembic_version"}
    assert current_heads(empty_db_url) == set()
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == before


def test_reference_data_is_seeded_with_sources(db_url: str) -> None:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            coal = conn.execute(
                sa.text(
                    "SELECT kgce_per_unit, source FROM coal_coefficients"
                    " WHERE measure = 'electricity' AND basis = 'equivalent'"
                )
            ).one()
            gas = conn.execute(
                sa.text(
                    "SELECT tco2_per_unit FROM emission_factors"
                    " WHERE measure = 'natural_gas' AND factor_set = 'cn-mee-2022'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert coal.kgce_per_unit == 0.1229
    assert "GB/T 2589" in coal.source
    # About 2.16 kgCO2 per m3 with the common defaults (DOMAIN.md).
    assert abs(gas * 1000 - 2.16) < 0.01


def test_daily_table_takes_over_the_days_already_rolled_up(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0002_timeseries", seed=False)  # days were a view then
    engine = make_engine(empty_db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO measures VALUES"
                    " ('electricity', 'energy', 'kWh', 'Electricity', '电力')"
                )
            )
            site = conn.execute(
                sa.text(
                    "INSERT INTO sites (code, name, kind, division_code, credit_code)"
                    " VALUES ('S1', 's', 'enterprise', '140100', '91140100MA0GRQ5H1C')"
                    " RETURNING id"
                )
            ).scalar_one()
            device = conn.execute(
                sa.text(f"INSERT INTO devices (site_id, code) VALUES ({site}, 'd') RETURNING id")
            ).scalar_one()
            point = conn.execute(
                sa.text(
                    "INSERT INTO points (site_id, device_id, code, measure, unit, kind)"
                    f" VALUES ({site}, {device}, 'E', 'electricity', 'kWh', 'cumulative')"
                    " RETURNING id"
                )
            ).scalar_one()
            # 15:45 UTC on the 1st is 23:45 on the 1st in Shanghai; 16:00 UTC is the 2nd.
            conn.execute(
                sa.text(
                    "INSERT INTO consumption_15min"
                    " (point_id, bucket, quantity, tce, tco2, completeness) VALUES"
                    f" ({point}, '2026-11-01 15:45+00', 10, 1, 2, 1),"
                    f" ({point}, '2026-11-01 16:00+00', 5, 0.5, 1, 1)"
                )
            )
        upgrade(empty_db_url)
        with engine.begin() as conn:
            days = conn.execute(
                sa.text(
                    "SELECT day::text, quantity FROM consumption_daily"
                    f" WHERE point_id = {point} ORDER BY day"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(d) for d in days] == [("2026-11-01", 10.0), ("2026-11-02", 5.0)]
