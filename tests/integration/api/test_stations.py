"""Station API: a regulator lists the stations of the region and reads a stack's series, the
pollutants corrected to the limit's reference O2 with hourly validity and amounts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from energywatch.protocol import Quality
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import devices, points, readings, sites
from tests.integration.api.conftest import login

M = timedelta(minutes=1)


def add_station(db_url: str, code: str, division: str, kind: str, pts: list[tuple]) -> dict:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            site = conn.execute(
                sites.insert()
                .values(
                    code=code, name=code, kind="station", division_code=division, station_kind=kind
                )
                .returning(sites.c.id)
            ).scalar_one()
            device = conn.execute(
                devices.insert().values(site_id=site, code="logger1").returning(devices.c.id)
            ).scalar_one()
            ids = {}
            for pcode, measure, unit, role in pts:
                ids[pcode] = conn.execute(
                    points.insert()
                    .values(
                        site_id=site,
                        device_id=device,
                        code=pcode,
                        measure=measure,
                        unit=unit,
                        kind="instantaneous",
                        role=role,
                    )
                    .returning(points.c.id)
                ).scalar_one()
            return {"engine": engine, "ids": ids}
    except Exception:
        engine.dispose()
        raise


def write(engine: sa.Engine, point: int, rows: list[tuple[datetime, float, Quality]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            readings.insert(),
            [{"point_id": point, "ts": t, "value": v, "quality": int(q)} for t, v, q in rows],
        )


@pytest.fixture
def hour(clock: datetime) -> datetime:
    """The start of a clock hour safely in the past."""
    return clock.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def test_regulator_lists_the_regions_stations_only(client, world_db):
    db_url, _ = world_db
    a = add_station(db_url, "CEMS-A", "140105", "stack", [("SO2", "so2", "mg/m3", "emission")])
    b = add_station(
        db_url, "GHG-B", "140202", "ambient_ghg", [("CO2", "co2_ambient", "ppm", "ambient")]
    )
    a["engine"].dispose()
    b["engine"].dispose()
    headers = login(client, "reg_a")
    r = client.get("/api/v1/regions/1401/stations", headers=headers)
    assert r.status_code == 200, r.text
    assert [(s["code"], s["station_kind"], s["measures"]) for s in r.json()] == [
        ("CEMS-A", "stack", ["so2"])
    ]
    assert client.get("/api/v1/regions/1402/stations", headers=headers).status_code == 404


def test_stack_series_corrects_validates_and_weighs(client, world_db, hour):
    db_url, _ = world_db
    st = add_station(
        db_url,
        "CEMS-A",
        "140105",
        "stack",
        [
            ("SO2", "so2", "mg/m3", "emission"),
            ("O2", "o2", "%", "emission"),
            ("FLOW", "flue_gas_flow", "m3/h", "emission"),
        ],
    )
    engine, ids = st["engine"], st["ids"]
    try:
        # Hour 1: 48 valid minutes at 40 mg/m3 and 9 % O2 (50 at 6 %), 12 calibration minutes.
        # Hour 2: 44 valid minutes: no hourly mean.
        so2 = [(hour + k * M, 40.0, Quality.GOOD) for k in range(48)]
        so2 += [(hour + k * M, 400.0, Quality.INVALID) for k in range(48, 60)]
        so2 += [(hour + (60 + k) * M, 40.0, Quality.GOOD) for k in range(44)]
        write(engine, ids["SO2"], so2)
        write(engine, ids["O2"], [(hour + k * M, 9.0, Quality.GOOD) for k in range(120)])
        write(engine, ids["FLOW"], [(hour + k * M, 1e6, Quality.GOOD) for k in range(120)])
    finally:
        engine.dispose()
    headers = login(client, "reg_a")
    params = {"start": hour.isoformat(), "end": (hour + 2 * 60 * M).isoformat()}
    r = client.get("/api/v1/sites/CEMS-A/station", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["station_kind"] == "stack"
    (so2_series,) = body["pollutants"]
    assert so2_series["basis"] == "o2_corrected" and so2_series["reference_o2"] == 6
    assert so2_series["limit"] == 35
    first, second = so2_series["hourly"]
    assert first["valid_minutes"] == 48 and first["mean"] == pytest.approx(50.0)
    assert first["emission_kg"] == pytest.approx(40.0)  # 40 mg/m3 x 1e6 m3/h x 1 h
    assert second["valid_minutes"] == 44 and second["mean"] is None and second["complete"]
    assert second["emission_kg"] is None
    # The local day (or days, when the two hours straddle midnight) has one valid hour: far
    # from the 20 a daily mean needs; the amount counts the valid hour only.
    days = so2_series["daily"]
    assert sum(d["valid_hours"] for d in days) == 1
    assert all(d["mean"] is None and not d["complete"] for d in days)
    assert sum(d["emission_kg"] or 0 for d in days) == pytest.approx(40.0)
    so2_point = next(p for p in body["points"] if p["code"] == "SO2")
    start_ms = int(hour.timestamp() * 1000)
    assert so2_point["flags"] == [
        {"start": start_ms + 48 * 60_000, "end": start_ms + 60 * 60_000, "quality": 2}
    ]
    assert len(so2_point["minutes"]) == 92


def test_ghg_station_has_a_diurnal_profile(client, world_db, hour):
    db_url, _ = world_db
    st = add_station(
        db_url, "GHG-A", "140105", "ambient_ghg", [("CO2", "co2_ambient", "ppm", "ambient")]
    )
    engine = st["engine"]
    try:
        write(engine, st["ids"]["CO2"], [(hour + k * M, 420.0 + k, Quality.GOOD) for k in range(3)])
    finally:
        engine.dispose()
    params = {"start": hour.isoformat(), "end": (hour + 60 * M).isoformat()}
    r = client.get("/api/v1/sites/GHG-A/station", params=params, headers=login(client, "reg_a"))
    assert r.status_code == 200, r.text
    (co2,) = r.json()["points"]
    local_hour = (hour + timedelta(hours=8)).hour  # Asia/Shanghai, the site's default zone
    assert co2["diurnal"][local_hour] == pytest.approx(421.0)
    assert sum(v is not None for v in co2["diurnal"]) == 1
    assert r.json()["pollutants"] == []


def test_the_loggers_corrected_value_is_judged_and_the_measured_one_weighed(client, world_db, hour):
    db_url, _ = world_db
    st = add_station(
        db_url,
        "CEMS-Z",
        "140105",
        "stack",
        [
            ("SO2", "so2", "mg/m3", "emission"),
            ("SO2_ZS", "so2", "mg/m3", "emission"),
            ("FLOW", "flue_gas_flow", "m3/h", "emission"),
        ],
    )
    engine, ids = st["engine"], st["ids"]
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(points).where(points.c.id == ids["SO2_ZS"]).values(corrected_o2=6)
            )
        write(engine, ids["SO2"], [(hour + k * M, 20.0, Quality.GOOD) for k in range(60)])
        write(engine, ids["SO2_ZS"], [(hour + k * M, 25.0, Quality.GOOD) for k in range(60)])
        write(engine, ids["FLOW"], [(hour + k * M, 5e5, Quality.GOOD) for k in range(60)])
    finally:
        engine.dispose()
    params = {"start": hour.isoformat(), "end": (hour + 60 * M).isoformat()}
    r = client.get("/api/v1/sites/CEMS-Z/station", params=params, headers=login(client, "reg_a"))
    assert r.status_code == 200, r.text
    (so2,) = r.json()["pollutants"]
    assert (so2["point"], so2["judged_point"], so2["basis"]) == (
        "SO2",
        "SO2_ZS",
        "logger_corrected",
    )
    (h,) = so2["hourly"]
    assert h["mean"] == pytest.approx(25.0)  # the logger's value at 6 % O2
    assert h["emission_kg"] == pytest.approx(10.0)  # 20 mg/m3 measured x 5e5 m3/h x 1 h
