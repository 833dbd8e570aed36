"""Data the browser tests start from: registry, users, six hours of history, alerts.

History goes straight into the database (readings and their 15-minute rollups, converted with
the GB/T 2589 coefficients), so the pages have something to draw from the first second; the
live part of each test then goes through the real broker and ingest service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from energywatch.storage import daily
from energywatch.storage.alerting_tables import alerts
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from energywatch.storage.tables import consumption_15min, points, readings, sites
from services.api.accounts import create_user

REGISTRY = Path(__file__).with_name("registry.yaml")
SITE = "TY-COKE-01"
REGION = "1401"
OPERATOR = ("op-coke", "operator-pass-1", "operator", SITE)
REGULATOR = ("reg-taiyuan", "regulator-pass-1", "regulator", REGION)

# tce and tCO2 per unit: GB/T 2589-2020 equivalent values; CO2 factors of the order of the
# national defaults (test data, not a reference).
TCE_PER_UNIT = {
    "electricity": 0.1229e-3,
    "natural_gas": 1.2143e-3,
    "steam": 0.03412,
    "washed_coal": 0.9,
}
TCO2_PER_UNIT = {
    "electricity": 0.5703e-3,
    "natural_gas": 2.162e-3,
    "steam": 0.11,
    "washed_coal": 2.5,
}
FIFTEEN_MIN = timedelta(minutes=15)


@dataclass(frozen=True)
class Seeded:
    point_ids: dict[tuple[str, str], int]  # (site, point) -> id
    site_ids: dict[str, int]
    last_ts: datetime


def _floor_15(ts: datetime) -> datetime:
    return ts - timedelta(minutes=ts.minute % 15, seconds=ts.second, microseconds=ts.microsecond)


def seed(db_url: str, now: datetime, hours: int = 6) -> Seeded:
    engine = make_engine(db_url)
    try:
        import_registry_file(engine, REGISTRY)
        with engine.begin() as conn:
            for username, password, role, scope in (OPERATOR, REGULATOR):
                create_user(conn, username, password, role, scope)
            site_ids = {r.code: r.id for r in conn.execute(sa.select(sites.c.code, sites.c.id))}
            by_id = {v: k for k, v in site_ids.items()}
            point_ids = {
                (by_id[r.site_id], r.code): r.id
                for r in conn.execute(sa.select(points.c.site_id, points.c.code, points.c.id))
            }
            last = _write_history(conn, point_ids, now, hours)
    finally:
        engine.dispose()
    return Seeded(point_ids, site_ids, last)


def _write_history(
    conn: sa.Connection, ids: dict[tuple[str, str], int], now: datetime, hours: int
) -> datetime:
    """One reading a minute for the coke plant, with a daily-looking swing in power."""
    start = (now - timedelta(hours=hours)).replace(second=0, microsecond=0)
    rows: list[dict[str, object]] = []
    registers = {"E01": 1_000_000.0, "G01": 50_000.0, "S01": 8_000.0}
    per_minute = {"G01": 20.0, "S01": 0.5}
    ts = start
    while ts < now - timedelta(minutes=1):
        minute = (ts - start).total_seconds() / 60
        kw = 8000 + 900 * math.sin(minute / 45) + 150 * math.sin(minute / 7)
        registers["E01"] += kw / 60
        for code, step in per_minute.items():
            registers[code] += step
        rows.append({"point_id": ids[(SITE, "KW")], "ts": ts, "value": kw})
        for code, value in registers.items():
            rows.append({"point_id": ids[(SITE, code)], "ts": ts, "value": value})
        rows.append({"point_id": ids[(SITE, "C01")], "ts": ts, "value": 0.087})
        rows.append({"point_id": ids[(SITE, "P01")], "ts": ts, "value": 1.13})
        ts += timedelta(minutes=1)
    conn.execute(readings.insert(), rows)
    _write_rollups(conn, ids, start, ts)
    return ts - timedelta(minutes=1)


def _write_rollups(
    conn: sa.Connection, ids: dict[tuple[str, str], int], start: datetime, end: datetime
) -> None:
    """15-minute rollups consistent with the readings above (what the rollup service writes)."""
    measure_of = {
        "E01": "electricity",
        "G01": "natural_gas",
        "S01": "steam",
        "C01": "washed_coal",
        "P01": "product",
    }
    rows: list[dict[str, object]] = []
    bucket = _floor_15(start) + FIFTEEN_MIN
    while bucket + FIFTEEN_MIN <= end:
        for code, measure in measure_of.items():
            quantity = _bucket_quantity(code, bucket)
            rows.append(
                {
                    "point_id": ids[(SITE, code)],
                    "bucket": bucket,
                    "quantity": quantity,
                    "tce": quantity * TCE_PER_UNIT.get(measure, 0.0),
                    "tco2": quantity * TCO2_PER_UNIT.get(measure, 0.0),
                    "completeness": 1.0,
                }
            )
        bucket += FIFTEEN_MIN
    if rows:
        conn.execute(consumption_15min.insert(), rows)
    daily.refresh_all(conn)  # as the rollup keeps them


def _bucket_quantity(code: str, bucket: datetime) -> float:
    return {"E01": 8000 * 0.25, "G01": 300.0, "S01": 7.5, "C01": 1.3, "P01": 17.0}[code]


def acknowledged_by(db_url: str, alert_id: int) -> tuple[str | None, str | None]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(alerts.c.acknowledged_by, alerts.c.ack_comment).where(
                    alerts.c.id == alert_id
                )
            ).one()
            return row.acknowledged_by, row.ack_comment
    finally:
        engine.dispose()
