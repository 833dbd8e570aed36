"""docs/computation.md works an integrated steel works' day by hand, unit by unit; the product
must agree with it through the real path: registry file import -> MQTT -> ingest process ->
rollup -> API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient

from energywatch.settings import ApiSettings, DatabaseSettings, Settings, load_settings
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from services.api.app import create_app
from services.api.users import add_user
from services.rollup.command import run
from tests.integration.api.conftest import login
from tests.integration.api.world import PASSWORD, World
from tests.integration.ingest.harness import IngestProcess, Publisher, count, readings_payload
from tests.support.clock import at_instants, local_yesterday
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

DOC = Path(__file__).resolve().parents[3] / "docs" / "computation.md"
STEPS = 96  # a reading every 15 minutes, 00:00 to 24:00
PER_MESSAGE = 40
BOUNDARY = "BOUNDARY"  # the device of the level-1 meters


def steel_works_day() -> dict[str, Any]:
    block = re.search(r"```yaml\n# steel-works-day\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block, "docs/computation.md lost its steel-works-day block"
    doc: dict[str, Any] = yaml.safe_load(block.group(1))
    return doc


def registry_file(doc: dict[str, Any], path: Path) -> Path:
    """The registry of the page's works: one device per unit (and one for the boundary)."""
    devices: dict[str, list[dict[str, Any]]] = {}
    for code, (unit, level, role, measure, *_, product) in _meters(doc):
        point = {
            "code": code,
            "measure": measure,
            "unit": {"electricity": "kWh", "natural_gas": "m3", "steam": "GJ", "heat": "GJ"}.get(
                measure, "t"
            ),
            "kind": "cumulative",
            "metering_level": level,
            "role": role,
        }
        if unit:
            point["process_unit"] = unit
        if product:
            point["product"] = product
        devices.setdefault(unit or BOUNDARY, []).append(point)
    site = {
        **doc["site"],
        "name": "河北示例钢铁联合企业",
        "kind": "enterprise",
        "credit_code": "91140100MA0GRQ5H1C",
        "division_code": "140100",
        "units": doc["units"],
        "devices": [{"code": d, "points": points} for d, points in devices.items()],
    }
    path.write_text(yaml.safe_dump({"sites": [site]}, allow_unicode=True), "utf-8")
    return path


def _meters(doc: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    for code, row in doc["meters"].items():
        yield code, row if len(row) == 7 else [*row, None]


def local_midnight(doc: dict[str, Any]) -> datetime:
    day = doc["day"] if isinstance(doc["day"], date) else date.fromisoformat(doc["day"])
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(doc["site"]["timezone"]))


def messages(doc: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """(device, payload): every register read every 15 minutes, rising evenly over the day."""
    midnight = local_midnight(doc)
    by_device: dict[str, list[dict[str, Any]]] = {}
    for code, (unit, _, _, _, start, end, _) in _meters(doc):
        for k in range(STEPS + 1):
            ts = (midnight + timedelta(minutes=15 * k)).astimezone(UTC)
            value = start + (end - start) * k / STEPS
            reading = {"point": code, "ts": ts.isoformat(), "v": value, "q": 0}
            by_device.setdefault(unit or BOUNDARY, []).append(reading)
    for device, readings in by_device.items():
        for seq, i in enumerate(range(0, len(readings), PER_MESSAGE)):
            yield device, readings_payload(seq, readings[i : i + PER_MESSAGE])


def close(got: float, want: float, scale: float) -> bool:
    """1e-9 relative, and 1e-9 of the site's figure for a figure that is zero by hand."""
    return got == pytest.approx(want, rel=1e-9, abs=1e-9 * scale)


def test_the_steel_works_day_of_the_computation_page(
    tmp_path: Path, db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    doc = steel_works_day()
    site = doc["site"]["code"]
    engine = make_engine(db_url, pool_size=1)
    try:
        import_registry_file(engine, registry_file(doc, tmp_path / "steel.yaml"))
    finally:
        engine.dispose()
    settings = load_settings(demo=True, database={"url": db_url})
    add_user(settings, "admin", PASSWORD, "admin", None)
    expected_readings = len(doc["meters"]) * (STEPS + 1)
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    try:
        publisher = Publisher(mqtt_broker)
        try:
            for device, payload in messages(doc):
                publisher.publish(f"{topic_prefix}/{site}/{device}/readings", [payload])
        finally:
            publisher.close()
        wait_until(lambda: count(db_url) >= expected_readings, 60, "every reading stored")
    finally:
        assert ingest.stop() == 0, ingest.output()
    assert count(db_url) == expected_readings
    assert count(db_url, "SELECT count(*) FROM dead_letters") == 0
    run(settings, once=True)

    api = Settings(demo=True, database=DatabaseSettings(url=db_url), api=ApiSettings())
    with TestClient(create_app(api)) as client:
        admin = login(client, "admin")
        r = client.get(
            f"/api/v1/sites/{site}/units/balance", headers=admin, params={"day": str(doc["day"])}
        )
        # The rolling intensity over 24 hours, at the day's last bucket, covers the day.
        end = local_midnight(doc) + timedelta(days=1)
        window = client.get(
            f"/api/v1/sites/{site}/intensity",
            headers=admin,
            params={
                "start": (end - timedelta(hours=1)).isoformat(),
                "end": end.isoformat(),
                "window_hours": 24,
            },
        )
        ranking = client.get(
            "/api/v1/regions/14/ranking",
            headers=admin,
            params={"day": str(doc["day"]), "by": "intensity"},
        )
        report = client.get(
            "/api/v1/reports/regions/14/daily",
            headers=admin,
            params={"day": str(doc["day"]), "format": "json"},
        )
        listed = client.get(f"/api/v1/sites/{site}/points", headers=admin).json()["items"]
        month = client.get(
            f"/api/v1/sites/{site}/units/balance",
            headers=admin,
            params={"month": str(doc["day"])[:7]},
        )
    assert r.status_code == 200, r.text
    assert {p["code"]: p["process_unit"] for p in listed} == {
        code: unit for code, (unit, *_) in doc["meters"].items()
    }
    got = r.json()
    # The month holds only this day's data: the same balances, over the month's days.
    assert (month.json()["first_day"], month.json()["last_day"]) == ("2026-11-01", "2026-11-30")
    assert month.json()["units"] == got["units"]
    want = doc["expected"]
    scale = want["total"]["tce"]
    for figure in ("tce", "tco2"):
        assert close(got["total"][figure], want["total"][figure], scale), figure
        assert close(got["unmetered"][figure], want["unmetered"][figure], scale), figure
    units = {u["code"]: u for u in got["units"]}
    assert list(units) == list(want["units"])  # parents before their children
    assert units["BOF"]["parent"] == units["ROLL"]["parent"] == "STEEL"
    for code, figures in want["units"].items():
        unit = units[code]
        assert close(unit["own"]["tce"], figures["own"], scale), code
        assert close(unit["allocated"]["tce"], figures["allocated"], scale), code
        assert close(unit["balance"]["tce"], figures["tce"], scale), code
        assert close(unit["balance"]["tco2"], figures["tco2"], scale), code
    products = {p["product"]: p for u in got["units"] for p in u["products"]}
    assert products.keys() == want["intensity"].keys()
    for product, kgce_per_t in want["intensity"].items():
        assert products[product]["unit"] == "kgce/t"
        assert close(products[product]["intensity"], kgce_per_t, abs(kgce_per_t)), product
    # The Sankey's links: the boundary's inputs and exports, each unit's inputs and recovery.
    assert {f["measure"]: f["quantity"] for f in got["exports"]} == pytest.approx(
        {"steam": 500.0}, rel=1e-9
    )
    recovered = {f["measure"]: f["quantity"] for f in units["BOF"]["recovered"]}
    assert recovered == pytest.approx({"steam": 1000.0, "heat": 1500.0}, rel=1e-9)
    rolling = {f["measure"]: f["quantity"] for f in units["ROLL"]["inputs"]}
    assert rolling["electricity"] == pytest.approx(600_000.0, rel=1e-9)  # not E41's too
    assert window.status_code == 200, window.text
    last = {
        ind["product"]: ind["series"][-1] for ind in window.json()["indicators"] if ind["product"]
    }
    assert last.keys() == want["intensity"].keys()
    for product, kgce_per_t in want["intensity"].items():
        t, value = last[product]
        assert datetime.fromisoformat(t) == end - timedelta(minutes=15)
        assert close(value, kgce_per_t, abs(kgce_per_t)), product
    # The region's ranking and report charge the works' (first) product its own unit's energy.
    [row] = ranking.json()["items"]
    assert (row["site"], row["product"]) == (site, "blast_furnace_iron")
    assert close(row["intensity"], want["intensity"]["blast_furnace_iron"], scale)
    assert close(row["tce"], want["total"]["tce"], scale)
    table = report.json()
    rows = [dict(zip(table["columns"], line, strict=True)) for line in table["rows"]]
    [figures] = [f for f in rows if f["site"] == site]
    assert close(figures["intensity"], want["intensity"]["blast_furnace_iron"], scale)


@at_instants
def test_a_site_without_units_is_one_unit_with_todays_figures(
    client: TestClient, world: World
) -> None:
    """Default of the registry: no units = the whole site is one unit (code "*")."""
    admin = login(client, "admin")
    day = local_yesterday(world.now)
    r = client.get("/api/v1/sites/A1/units/balance", headers=admin, params={"day": str(day)})
    assert r.status_code == 200, r.text
    got = r.json()
    report = client.get(
        "/api/v1/reports/sites/A1/daily", headers=admin, params={"day": str(day), "format": "json"}
    ).json()
    rows = {line[0]: dict(zip(report["columns"], line, strict=True)) for line in report["rows"]}
    [whole] = got["units"]
    assert whole["code"] == "*" and whole["parent"] is None
    assert got["total"]["tce"] == pytest.approx(rows["TOTAL"]["tce"], rel=1e-9)
    assert got["total"]["tce"] > 0
    assert whole["balance"] == pytest.approx(got["total"], rel=1e-12)
    assert got["unmetered"] == {"tce": 0.0, "tco2": 0.0}
    [coke] = whole["products"]
    assert coke["intensity"] == pytest.approx(
        1000 * got["total"]["tce"] / rows["P01"]["quantity"], rel=1e-9
    )
    both = client.get(
        "/api/v1/sites/A1/units/balance",
        headers=admin,
        params={"day": str(day), "month": day.strftime("%Y-%m")},
    )
    assert both.status_code == 422
    assert both.headers["content-type"].startswith("application/problem+json")
