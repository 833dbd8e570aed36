"""docs/computation.md works days by hand: a chemical plant (feedstock coal, steam bought by the
tonne, measured coal values) and a CHP plant supplying heat (DL/T 904 supply coal rate). The
product must agree, through the real path: registry import -> MQTT -> the ingest service ->
rollup -> API, to 1e-9 relative."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

from energywatch.settings import DatabaseSettings, Settings
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from services.api.app import create_app
from services.rollup.command import options_from
from services.rollup.worker import drain
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.integration.ingest.harness import IngestProcess, Publisher, count, readings_payload
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

DOC = Path(__file__).resolve().parents[3] / "docs" / "computation.md"
SITE, DEVICE = "CHEM-01", "gw01"
QUARTERS = 96


def worked_day(name: str) -> dict[str, Any]:
    text = DOC.read_text("utf-8")
    block = re.search(rf"```yaml\n# {name}\n(.*?)```", text, re.S)
    assert block, f"docs/computation.md lost its {name} block"
    doc: dict[str, Any] = yaml.safe_load(block.group(1))
    return doc


def registry_text(doc: dict[str, Any]) -> str:
    """The plant as a registry file, every meter a level-1 cumulative register."""
    points = []
    for code, meter in doc["meters"].items():
        optional = ("pressure_mpa", "temperature_c", "metering_level", "product")
        state = {k: meter[k] for k in optional if k in meter}
        points.append(
            {
                "code": code,
                "measure": meter["measure"],
                "unit": meter["unit"],
                "kind": "cumulative",
                "role": meter["role"],
                **state,
            }
        )
    site = {
        "code": SITE,
        "name": "示例煤化工",
        "kind": "enterprise",
        "credit_code": "91140100MA0GRQ5H1C",
        "division_code": "140105",
        "timezone": doc["timezone"],
        "factor_set": doc["factor_set"],
        "grid_region": doc["grid_region"],
        "measured_fuels": doc.get("measured_fuels", []),
        "devices": [{"code": DEVICE, "points": points}],
    }
    return yaml.safe_dump({"sites": [site]}, allow_unicode=True)


def messages(doc: dict[str, Any], start: datetime) -> list[bytes]:
    """One message per quarter-hour from 00:00 to 24:00 with every register, rising evenly."""
    out = []
    for k in range(QUARTERS + 1):
        ts = (start + timedelta(minutes=15 * k)).isoformat()
        readings = [
            {"point": code, "ts": ts, "v": m["start"] + (m["end"] - m["start"]) * k / QUARTERS}
            for code, m in doc["meters"].items()
        ]
        out.append(readings_payload(k + 1, readings))
    return out


@pytest.mark.parametrize(
    "name", ["worked-example-conversions", "worked-example-chp", "worked-example-aluminium"]
)
def test_the_worked_day_through_the_real_path(
    name: str,
    api_settings: Settings,
    world: World,
    db_url: str,
    mqtt_broker: BrokerAddress,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    doc = worked_day(name)
    day = doc["day"] if isinstance(doc["day"], date) else date.fromisoformat(doc["day"])
    tz = ZoneInfo(doc["timezone"])
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    registry = tmp_path / "chemical.yaml"
    registry.write_text(registry_text(doc), encoding="utf-8")
    engine = make_engine(db_url, pool_size=1)
    try:
        import_registry_file(engine, registry)
    finally:
        engine.dispose()
    n = (QUARTERS + 1) * len(doc["meters"])
    before = count(db_url)
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    publisher = Publisher(mqtt_broker)
    try:
        publisher.publish(f"{topic_prefix}/{SITE}/{DEVICE}/readings", messages(doc, start))
        wait_until(lambda: count(db_url) - before == n, 60, f"{n} readings stored")
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()
    settings = Settings(demo=True, database=DatabaseSettings(url=db_url))
    with psycopg.connect(db_url) as conn:
        drain(conn, options_from(settings))
    expected = doc["expected"]
    with TestClient(create_app(api_settings)) as client:
        admin = login(client, "admin")

        def day_items(group: str) -> list[dict[str, Any]]:
            r = client.get(
                f"/api/v1/sites/{SITE}/consumption",
                headers=admin,
                params={
                    "start": start.isoformat(),
                    "end": (start + timedelta(days=1)).isoformat(),
                    "granularity": "day",
                    "group": group,
                },
            )
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            return items

        by_point = {i["key"]: i for i in day_items("point")}
        for code, meter in doc["meters"].items():
            rise = meter["end"] - meter["start"]
            assert by_point[code]["quantity"] == pytest.approx(rise, rel=1e-9), code
            assert by_point[code]["tce"] == pytest.approx(expected["tce"][code], rel=1e-9), code
            assert by_point[code]["tco2"] == pytest.approx(expected["tco2"][code], rel=1e-9), code
        [total] = day_items("site")
        assert total["tce"] == pytest.approx(expected["total_tce"], rel=1e-9)
        assert total["tco2"] == pytest.approx(expected["total_tco2"], rel=1e-9)
        # the 24-hour window ending with the day's last bucket holds the whole day
        r = client.get(
            f"/api/v1/sites/{SITE}/intensity",
            headers=admin,
            params={
                "start": start.isoformat(),
                "end": (start + timedelta(days=1)).isoformat(),
                "window_hours": 24,
            },
        )
        assert r.status_code == 200, r.text
        last = (start + timedelta(days=1, minutes=-15)).astimezone(UTC)

        def day_value(indicator: dict[str, Any]) -> float:
            values = {datetime.fromisoformat(t): v for t, v in indicator["series"]}
            return float(values[last])

        indicators = r.json()["indicators"]
        if "supply_coal_rate_gce_per_kwh" in expected:
            [rate] = [i for i in indicators if i["indicator"] == "supply_coal_rate"]
            assert day_value(rate) == pytest.approx(
                expected["supply_coal_rate_gce_per_kwh"], rel=1e-9
            )
        for product, value in expected.get("intensity", {}).items():
            [found] = [i for i in indicators if i["product"] == product]
            assert day_value(found) == pytest.approx(value, rel=1e-9), product
    if "steam_gj_per_t" in expected:
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT heat_gj_per_t FROM points WHERE code = 'S01'").fetchone()
        assert row is not None
        assert row[0] == pytest.approx(expected["steam_gj_per_t"], rel=1e-9)
