"""Station API: a regulator lists the stations of the region and reads a stack's series, the
pollutants corrected to the limit's reference O2 with hourly validity and amounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from energywatch.protocol import Quality
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import devices, points, readings, sites
from tests.integration.api.conftest import login
from tests.support.clock import SITE_TZ, local_day, next_local_midnight

M = timedelta(minutes=1)
UNITS = {
    "so2": ("mg/m3", "emission"),
    "o2": ("%", "emission"),
    "flue_gas_flow": ("m3/h", "emission"),
    "co2_ambient": ("ppm", "ambient"),
}
Rows = list[tuple[datetime, float, Quality]]


@dataclass
class Point:
    code: str
    measure: str
    rows: Rows = field(default_factory=list)
    corrected_o2: float | None = None


def add_station(db_url: str, code: str, division: str, kind: str, pts: list[Point]) -> None:
    """A station with one data logger, its points and their readings."""
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
            for p in pts:
                unit, role = UNITS[p.measure]
                pid = conn.execute(
                    points.insert()
                    .values(
                        site_id=site,
                        device_id=device,
                        code=p.code,
                        measure=p.measure,
                        unit=unit,
                        kind="instantaneous",
                        role=role,
                        corrected_o2=p.corrected_o2,
                    )
                    .returning(points.c.id)
                ).scalar_one()
                if p.rows:
                    conn.execute(
                        readings.insert(),
                        [
                            {"point_id": pid, "ts": t, "value": v, "quality": int(q)}
                            for t, v, q in p.rows
                        ],
                    )
    finally:
        engine.dispose()


def every_minute(start: datetime, values: list[tuple[float, Quality]]) -> Rows:
    return [(start + k * M, v, q) for k, (v, q) in enumerate(values)]


def good(value: float, n: int) -> list[tuple[float, Quality]]:
    return [(value, Quality.GOOD)] * n


@pytest.fixture
def hour(request: pytest.FixtureRequest, clock: datetime) -> datetime:
    """The start of a clock hour safely in the past; with the parameter "before local
    midnight", two hours before the sites' last local midnight, so that two hours from it end
    exactly where a local day does (whatever the hour the test runs at)."""
    if getattr(request, "param", None) == "before local midnight":
        midnight = datetime.combine(local_day(clock), time(0), SITE_TZ).astimezone(UTC)
        return midnight - timedelta(hours=2)
    return clock.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def day_closes_by(day_ms: int, end: datetime) -> bool:
    """Whether the local day starting at `day_ms` has ended by `end`."""
    return next_local_midnight(datetime.fromtimestamp(day_ms / 1000, UTC)) <= end


def series(client, site: str, start: datetime, minutes: int) -> dict:
    params = {"start": start.isoformat(), "end": (start + minutes * M).isoformat()}
    r = client.get(f"/api/v1/sites/{site}/station", params=params, headers=login(client, "reg_a"))
    assert r.status_code == 200, r.text
    return r.json()


def test_regulator_lists_the_regions_stations_only(client, world_db):
    db_url, _ = world_db
    add_station(db_url, "CEMS-A", "140105", "stack", [Point("SO2", "so2")])
    add_station(db_url, "GHG-B", "140202", "ambient_ghg", [Point("CO2", "co2_ambient")])
    headers = login(client, "reg_a")
    r = client.get("/api/v1/regions/1401/stations", headers=headers)
    assert r.status_code == 200, r.text
    assert [(s["code"], s["station_kind"], s["measures"]) for s in r.json()] == [
        ("CEMS-A", "stack", ["so2"])
    ]
    assert client.get("/api/v1/regions/1402/stations", headers=headers).status_code == 404


@pytest.mark.parametrize("hour", ["three hours ago", "before local midnight"], indirect=True)
def test_stack_series_corrects_validates_and_weighs(client, world_db, hour):
    db_url, _ = world_db
    # Hour 1: 48 valid minutes at 40 mg/m3 and 9 % O2 (50 at 6 %), 12 calibration minutes.
    # Hour 2: 44 valid minutes: no hourly mean.
    so2 = good(40.0, 48) + [(400.0, Quality.INVALID)] * 12 + good(40.0, 44)
    add_station(
        db_url,
        "CEMS-A",
        "140105",
        "stack",
        [
            Point("SO2", "so2", every_minute(hour, so2)),
            Point("O2", "o2", every_minute(hour, good(9.0, 120))),
            Point("FLOW", "flue_gas_flow", every_minute(hour, good(1e6, 120))),
        ],
    )
    body = series(client, "CEMS-A", hour, 120)
    assert body["station_kind"] == "stack"
    (so2_series,) = body["pollutants"]
    assert so2_series["basis"] == "o2_corrected" and so2_series["reference_o2"] == 6
    assert so2_series["limit"] == 35
    first, second = so2_series["hourly"]
    assert first["valid_minutes"] == 48 and first["mean"] == pytest.approx(50.0)
    assert first["emission_kg"] == pytest.approx(40.0)  # 40 mg/m3 x 1e6 m3/h x 1 h
    assert second["valid_minutes"] == 44 and second["mean"] is None and second["complete"]
    assert second["emission_kg"] is None  # no valid hourly concentration: no amount either
    # The local day (or days, when the two hours straddle midnight) has one valid hour: far
    # from the 20 a daily mean needs; the amount counts the valid hour only. A day is complete
    # when it ends inside the window asked for (the two hours may end at a local midnight).
    days = so2_series["daily"]
    assert sum(d["valid_hours"] for d in days) == 1
    assert all(d["mean"] is None for d in days)
    assert [d["complete"] for d in days] == [day_closes_by(d["day"], hour + 120 * M) for d in days]
    assert sum(d["emission_kg"] or 0 for d in days) == pytest.approx(40.0)
    so2_point = next(p for p in body["points"] if p["code"] == "SO2")
    start_ms = int(hour.timestamp() * 1000)
    assert so2_point["flags"] == [
        {"start": start_ms + 48 * 60_000, "end": start_ms + 60 * 60_000, "quality": 2}
    ]
    assert len(so2_point["minutes"]) == 92


def test_the_loggers_corrected_value_is_judged_and_the_measured_one_weighed(client, world_db, hour):
    db_url, _ = world_db
    add_station(
        db_url,
        "CEMS-Z",
        "140105",
        "stack",
        [
            Point("SO2", "so2", every_minute(hour, good(20.0, 60))),
            Point("SO2_ZS", "so2", every_minute(hour, good(25.0, 60)), corrected_o2=6),
            Point("FLOW", "flue_gas_flow", every_minute(hour, good(5e5, 60))),
        ],
    )
    (so2,) = series(client, "CEMS-Z", hour, 60)["pollutants"]
    assert (so2["point"], so2["judged_point"], so2["basis"]) == (
        "SO2",
        "SO2_ZS",
        "logger_corrected",
    )
    (h,) = so2["hourly"]
    assert h["mean"] == pytest.approx(25.0)  # the logger's value at 6 % O2
    assert h["emission_kg"] == pytest.approx(10.0)  # 20 mg/m3 measured x 5e5 m3/h x 1 h


def test_ghg_station_has_a_diurnal_profile(client, world_db, hour):
    db_url, _ = world_db
    co2 = [(420.0 + k, Quality.GOOD) for k in range(3)]
    add_station(
        db_url,
        "GHG-A",
        "140105",
        "ambient_ghg",
        [Point("CO2", "co2_ambient", every_minute(hour, co2))],
    )
    body = series(client, "GHG-A", hour, 60)
    (gas,) = body["points"]
    local_hour = (hour + timedelta(hours=8)).hour  # Asia/Shanghai, the site's default zone
    assert gas["diurnal"][local_hour] == pytest.approx(421.0)
    assert sum(v is not None for v in gas["diurnal"]) == 1
    assert body["pollutants"] == []


def test_a_month_of_a_stack_gives_valid_days_and_their_kg(client, world_db, clock):
    """A local day with 21 valid hours has a daily mean (20 needed); the month sums the kg."""
    db_url, _ = world_db
    tz = ZoneInfo("Asia/Shanghai")
    day = (clock.astimezone(tz) - timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    n = 21 * 60
    add_station(
        db_url,
        "CEMS-M",
        "140105",
        "stack",
        [
            Point("SO2", "so2", every_minute(day, good(24.0, n))),
            Point("O2", "o2", every_minute(day, good(9.0, n))),
            Point("FLOW", "flue_gas_flow", every_minute(day, good(1e6, n))),
        ],
    )
    r = client.get(
        "/api/v1/sites/CEMS-M/station/emissions",
        params={"month": day.strftime("%Y-%m")},
        headers=login(client, "reg_a"),
    )
    assert r.status_code == 200, r.text
    (so2,) = r.json()["pollutants"]
    (d,) = so2["days"]
    assert d["day"] == int(day.timestamp() * 1000) and d["complete"]
    assert d["valid_hours"] == 21 and d["mean"] == pytest.approx(30.0)  # 24 x 15 / 12
    assert so2["valid_hours"] == 21
    assert so2["emission_kg"] == pytest.approx(21 * 24.0)  # 24 mg/m3 x 1e6 m3/h x 21 h
