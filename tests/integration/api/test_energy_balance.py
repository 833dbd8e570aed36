"""The site total is the energy balance of GB/T 2589-2020 at the enterprise boundary: level-1
inputs less exports; level-2 sub-meters and recovered energy never add to it
(energywatch/storage/balance.py).

Site A1 of the world gets a level-2 electricity sub-meter, a recovered-heat meter and an export
of coke-oven gas; B1 has the same industry and the same base data without them. Every figure of
A1 must then be B1's less the gas sold, whatever the sub-meter and the recovered heat read.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from energywatch.storage import daily
from energywatch.storage.balance import balance_sign
from energywatch.storage.engine import make_engine
from energywatch.storage.registry_model import PointRole
from energywatch.storage.tables import consumption_15min, points
from services.api.app import create_app
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import at_instants

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Per 15-minute bucket: (code, measure, unit, role, level, quantity, tce, tco2).
EXTRA = (
    ("E02", "electricity", "kWh", "consumption", 2, 12.0, 12.0 * 0.0001229, 12.0 * 0.0005703),
    ("H01", "heat", "GJ", "recovered", 1, 3.0, 3.0 * 0.03412, 3.0 * 0.11),
    ("G01", "coke_oven_gas", "m3", "export", 1, 500.0, 500.0 * 0.0005714, 500.0 * 0.00085),
)


@pytest.fixture
def balanced(api_settings: object, world: World, db_url: str) -> World:
    engine = make_engine(db_url, pool_size=1)
    with engine.begin() as conn:
        a1 = world.site_ids["A1"]
        device = conn.execute(sa.text("SELECT id FROM devices WHERE site_id = :s"), {"s": a1})
        device_id = device.scalar_one()
        rows = []
        buckets = conn.execute(
            sa.text("SELECT DISTINCT bucket FROM consumption_15min WHERE point_id = :p ORDER BY 1"),
            {"p": world.point_ids[("A1", "E01")]},
        ).scalars()
        bucket_list = list(buckets)
        for code, measure, unit, role, level, qty, tce, tco2 in EXTRA:
            pid = conn.execute(
                points.insert()
                .values(
                    site_id=a1,
                    device_id=device_id,
                    code=code,
                    measure=measure,
                    unit=unit,
                    kind="cumulative",
                    role=role,
                    metering_level=level,
                )
                .returning(points.c.id)
            ).scalar_one()
            rows += [
                {
                    "point_id": pid,
                    "bucket": b,
                    "quantity": qty,
                    "tce": tce,
                    "tco2": tco2,
                    "completeness": 1.0,
                }
                for b in bucket_list
            ]
        conn.execute(consumption_15min.insert(), rows)
        daily.refresh_all(conn)
    engine.dispose()
    return world


def _exported(db_url: str, lo: datetime, hi: datetime) -> tuple[float, float]:
    engine = make_engine(db_url, pool_size=1)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT coalesce(sum(c.tce), 0), coalesce(sum(c.tco2), 0) FROM consumption_15min c"
                " JOIN points p ON p.id = c.point_id WHERE p.code = 'G01'"
                " AND c.bucket >= :lo AND c.bucket < :hi"
            ),
            {"lo": lo, "hi": hi},
        ).one()
    engine.dispose()
    return float(row[0]), float(row[1])


@at_instants
def test_site_figures_are_level_one_inputs_less_exports(
    api_settings: object, balanced: World, db_url: str
) -> None:
    world = balanced
    with TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        admin = login(client, "admin")
        # A window both sites have whole: the last six hours of the seeded data.
        hi = world.now.replace(minute=0, tzinfo=UTC)
        lo = hi - timedelta(hours=6)
        sold_tce, sold_tco2 = _exported(db_url, lo, hi)
        assert sold_tce > 0

        def site_total(code: str) -> tuple[float, float]:
            r = client.get(
                f"/api/v1/sites/{code}/consumption",
                headers=admin,
                params={"start": lo.isoformat(), "end": hi.isoformat(), "group": "site"},
            )
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            return sum(i["tce"] for i in items), sum(i["tco2"] for i in items)

        a1, b1 = site_total("A1"), site_total("B1")
        assert a1[0] == pytest.approx(b1[0] - sold_tce, rel=1e-9)
        assert a1[1] == pytest.approx(b1[1] - sold_tco2, rel=1e-9)

        # By energy type: electricity is the level-1 meter's alone, the gas is negative.
        r = client.get(
            "/api/v1/sites/A1/consumption",
            headers=admin,
            params={
                "start": lo.isoformat(),
                "end": hi.isoformat(),
                "group": "measure",
                "granularity": "day",
            },
        )
        by_measure: dict[str, float] = {}
        for item in r.json()["items"]:
            by_measure[item["key"]] = by_measure.get(item["key"], 0.0) + item["quantity"]
        assert set(by_measure) == {"electricity", "raw_coal", "coke_oven_gas"}
        assert by_measure["electricity"] == pytest.approx(24 * 30.0)
        assert by_measure["coke_oven_gas"] == pytest.approx(-24 * 500.0)

        # The regional ranking and the daily report, over a local day both sites have.
        day = (world.now - timedelta(hours=2)).astimezone(SHANGHAI).date()
        start = datetime.combine(day, datetime.min.time(), SHANGHAI)
        sold_day, _ = _exported(db_url, start, start + timedelta(days=1))
        ranking = client.get(
            "/api/v1/regions/14/ranking", headers=admin, params={"day": str(day), "by": "tce"}
        ).json()["items"]
        tce = {row["site"]: row["tce"] for row in ranking}
        assert tce["A1"] == pytest.approx(tce["B1"] - sold_day, rel=1e-9)
        report = client.get(
            "/api/v1/reports/sites/A1/daily", headers=admin, params={"day": str(day)}
        )
        rows = {
            row["point"]: row
            for row in csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")))
        }
        assert float(rows["TOTAL"]["tce"]) == pytest.approx(
            float(rows["E01"]["tce"]) + float(rows["C01"]["tce"]) - float(rows["G01"]["tce"]),
            rel=1e-9,
        )
        assert float(rows["E02"]["tce"]) > 0 and float(rows["H01"]["tce"]) > 0  # shown

        # The rolling intensity: per bucket A1 sells 500 m3 of gas (0.2857 tce) and makes
        # 1.2 t, as B1 makes; so in any window A1's kgce/t is B1's less 1000 x 0.2857 / 1.2.
        def intensity(code: str) -> dict[str, float]:
            got = client.get(
                f"/api/v1/sites/{code}/intensity", headers=admin, params={"window_hours": 6}
            ).json()
            [coke] = got["indicators"]
            return {t: v for t, v in coke["series"] if v is not None}

        a1_series, b1_series = intensity("A1"), intensity("B1")
        assert a1_series.keys() == b1_series.keys() and len(a1_series) > 100
        credit = 1000 * 500.0 * 0.0005714 / 1.2
        for t, b1_value in b1_series.items():
            assert a1_series[t] == pytest.approx(b1_value - credit, rel=1e-9), t


def test_the_database_column_follows_the_rule(db_url: str, world: World) -> None:
    engine = make_engine(db_url, pool_size=1)
    with engine.begin() as conn:
        site, device = conn.execute(sa.text("SELECT site_id, device_id FROM points LIMIT 1")).one()

        def insert(role: str, level: int) -> int:
            return int(
                conn.execute(
                    points.insert()
                    .values(
                        site_id=site,
                        device_id=device,
                        code=f"{role}{level}",
                        kind="interval",
                        measure="heat",
                        unit="GJ",
                        role=role,
                        metering_level=level,
                    )
                    .returning(points.c.balance_sign)
                ).scalar_one()
            )

        for role in get_args(PointRole):
            for level in (1, 2, 3):
                if role == "export" and level > 1:  # energy leaving: the boundary meter only
                    with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                        insert(role, level)
                    continue
                assert insert(role, level) == balance_sign(role, level), (role, level)
    engine.dispose()
