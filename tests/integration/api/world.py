"""A small world for API tests: two regions, three enterprises, users of every role.

Region 1401 (Taiyuan) holds A1 and A2; region 1402 holds B1. Every site gets the same
points, readings, 15-minute rollups, an alert, a rule and a silence, so that a test can ask
for B1's things as A1's operator (or 1401's regulator) and compare with things that do not
exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from energywatch.storage import daily
from energywatch.storage.alerting_tables import alert_rules, alerts, silences
from energywatch.storage.api_tables import users
from energywatch.storage.passwords import hash_password
from energywatch.storage.tables import consumption_15min, devices, points, readings, sites

PASSWORD = "correct horse battery"

SITES = {
    "A1": ("140105", "coke"),
    "A2": ("140106", "cement"),
    "B1": ("140202", "coke"),
}
POINTS = (
    # code, measure, unit, kind, role, product
    ("E01", "electricity", "kWh", "cumulative", "consumption", None),
    ("C01", "raw_coal", "t", "interval", "consumption", None),
    ("P01", "product", "t", "interval", "output", "coke_top_charged"),
    ("W01", "power", "kW", "instantaneous", "power", None),
)
USERS = {
    "admin": ("admin", None),
    "reg_a": ("regulator", "1401"),
    "reg_b": ("regulator", "1402"),
    "op_a1": ("operator", "A1"),
    "op_b1": ("operator", "B1"),
}


@functools.cache
def password_hash() -> str:
    """One argon2 hash for every user of every world: hashing costs ~0.1 s each."""
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class World:
    now: datetime
    site_ids: dict[str, int]
    point_ids: dict[tuple[str, str], int]
    alert_ids: dict[str, int]
    silence_ids: dict[str, int]


def build_world(conn: sa.Connection, now: datetime | None = None) -> World:
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    site_ids: dict[str, int] = {}
    point_ids: dict[tuple[str, str], int] = {}
    for code, (division, industry) in SITES.items():
        site_id = conn.execute(
            sites.insert()
            .values(
                code=code,
                name=f"Enterprise {code}",
                kind="enterprise",
                division_code=division,
                industry=industry,
                energy_budget_tce=50_000,
                carbon_budget_tco2=120_000,
                credit_code=None,
            )
            .returning(sites.c.id)
        ).scalar_one()
        site_ids[code] = site_id
        device_id = conn.execute(
            devices.insert().values(site_id=site_id, code="GW1").returning(devices.c.id)
        ).scalar_one()
        for p_code, measure, unit, kind, role, product in POINTS:
            point_ids[(code, p_code)] = conn.execute(
                points.insert()
                .values(
                    site_id=site_id,
                    device_id=device_id,
                    code=p_code,
                    name=f"{code} {p_code}",
                    measure=measure,
                    unit=unit,
                    kind=kind,
                    role=role,
                    product=product,
                )
                .returning(points.c.id)
            ).scalar_one()
    _series(conn, now, point_ids)
    alert_ids, silence_ids = {}, {}
    for code, site_id in site_ids.items():
        alert_ids[code] = conn.execute(
            alerts.insert()
            .values(
                rule=f"energy.{code}",
                kind="energy",
                subject=f"site:{code}",
                site_id=site_id,
                state="firing",
                severity="warning",
                value=160.0,
                threshold=150.0,
                unit="tce",
                started_at=now - timedelta(minutes=30),
                fired_at=now - timedelta(minutes=20),
            )
            .returning(alerts.c.id)
        ).scalar_one()
        conn.execute(
            alert_rules.insert().values(
                name=f"energy.{code}",
                definition={
                    "name": f"energy.{code}",
                    "kind": "energy",
                    "select": {"sites": [code]},
                    "thresholds": {"warning": 150.0},
                },
                created_by="admin",
            )
        )
        silence_ids[code] = conn.execute(
            silences.insert()
            .values(
                matchers={"site": code},
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
                created_by="admin",
                comment="maintenance",
            )
            .returning(silences.c.id)
        ).scalar_one()
    for username, (role, scope) in USERS.items():
        conn.execute(
            users.insert().values(
                username=username, password_hash=password_hash(), role=role, scope=scope
            )
        )
    return World(now, site_ids, point_ids, alert_ids, silence_ids)


def _series(conn: sa.Connection, now: datetime, point_ids: dict[tuple[str, str], int]) -> None:
    """Two days of minute readings and 15-minute rollups for every point."""
    start = now - timedelta(days=2)
    minutes = int((now - start).total_seconds() // 60)
    reading_rows = []
    rollup_rows = []
    for (_, p_code), pid in point_ids.items():
        for i in range(0, minutes, 5):  # every 5 minutes keeps the world small
            ts = start + timedelta(minutes=i)
            value = {"E01": 1000.0 + i * 10.0, "C01": 0.05, "P01": 0.4, "W01": 600.0}[p_code]
            reading_rows.append({"point_id": pid, "ts": ts, "value": value, "quality": 0})
        if p_code == "W01":
            continue
        bucket = start - timedelta(minutes=start.minute % 15)
        while bucket < now:
            qty = {"E01": 30.0, "C01": 0.15, "P01": 1.2}[p_code]
            tce = {"E01": 30.0 * 0.0001229, "C01": 0.15 * 0.7143, "P01": 0.0}[p_code]
            tco2 = {"E01": 30.0 * 0.0005703, "C01": 0.15 * 1.9, "P01": 0.0}[p_code]
            rollup_rows.append(
                {
                    "point_id": pid,
                    "bucket": bucket,
                    "quantity": qty,
                    "tce": tce,
                    "tco2": tco2,
                    "completeness": 1.0,
                }
            )
            bucket += timedelta(minutes=15)
    conn.execute(readings.insert(), reading_rows)
    conn.execute(consumption_15min.insert(), rollup_rows)
    daily.refresh_all(conn)  # as the rollup keeps them
