"""A plant's day worked by hand in docs/computation.md, run through the whole system.

The page holds, per plant, a block `# plant-day: NAME` with the registry, each meter's register
at 00:00 and 24:00 and the figures computed by hand. The day goes the way a real one does:
registry import → readings every 15 minutes published to the real broker → the ingest service
(a process of its own) → the rollup → the API, whose answers must equal the page's figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml
from fastapi.testclient import TestClient

from energywatch.settings import DatabaseSettings, Settings
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from services.api.accounts import create_user
from services.api.app import create_app
from services.rollup.worker import Options, drain
from tests.integration.ingest.harness import IngestProcess, Publisher, count, readings_payload
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

DOC = Path(__file__).resolve().parents[3] / "docs" / "computation.md"
QUARTERS = 96
RELATIVE = 1e-9


@dataclass(frozen=True)
class PlantDay:
    name: str
    day: date
    site: str
    timezone: str
    registry: dict[str, Any]
    meters: dict[str, tuple[float, float]]  # point -> register at 00:00 and at 24:00
    expected: dict[str, Any]

    @property
    def device(self) -> str:
        devices = self.registry["sites"][0]["devices"]
        assert len(devices) == 1, "a plant day has one gateway"
        return str(devices[0]["code"])

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime(
            self.day.year, self.day.month, self.day.day, tzinfo=ZoneInfo(self.timezone)
        )
        return start, start + timedelta(days=1)


def plant_day(name: str) -> PlantDay:
    text = DOC.read_text("utf-8")
    block = re.search(rf"```yaml\n# plant-day: {re.escape(name)}\n(.*?)```", text, re.S)
    assert block, f"docs/computation.md lost its plant-day block {name!r}"
    doc = yaml.safe_load(block.group(1))
    site = doc["registry"]["sites"][0]
    return PlantDay(
        name=name,
        day=doc["day"] if isinstance(doc["day"], date) else date.fromisoformat(doc["day"]),
        site=doc["site"],
        timezone=site.get("timezone", "Asia/Shanghai"),
        registry=doc["registry"],
        meters={k: (float(v[0]), float(v[1])) for k, v in doc["meters"].items()},
        expected=doc["expected"],
    )


def registers(plant: PlantDay) -> list[list[dict[str, Any]]]:
    """The readings of each quarter-hour 00:00 … 24:00: every register rises evenly."""
    start, _ = plant.bounds()
    out = []
    for k in range(QUARTERS + 1):
        ts = (start + timedelta(minutes=15 * k)).isoformat()
        out.append(
            [
                {"point": p, "ts": ts, "v": a + (b - a) * k / QUARTERS, "q": 0}
                for p, (a, b) in plant.meters.items()
            ]
        )
    return out


def run_day(
    plant: PlantDay, db_url: str, broker: BrokerAddress, prefix: str, tmp_path: Path
) -> None:
    """Registry import, the day's readings through broker and ingest, then the rollup."""
    registry_file = tmp_path / f"{plant.name}.yaml"
    registry_file.write_text(yaml.safe_dump(plant.registry, allow_unicode=True), "utf-8")
    engine = make_engine(db_url, pool_size=1)
    try:
        import_registry_file(engine, registry_file)
    finally:
        engine.dispose()
    messages = registers(plant)
    want = sum(len(m) for m in messages)
    ingest = IngestProcess(db_url, broker, prefix).start()
    publisher = Publisher(broker)
    try:
        topic = f"{prefix}/{plant.site}/{plant.device}/readings"
        publisher.publish(topic, [readings_payload(i, m) for i, m in enumerate(messages)])
        wait_until(
            lambda: count(db_url) >= want,
            timeout=60,
            what=f"ingest to store the {want} readings of the day",
            detail=lambda: ingest.output()[-2000:],
        )
    finally:
        publisher.close()
        ingest.stop()
    with psycopg.connect(db_url) as conn:
        drain(conn, Options())


def api_figures(
    db_url: str,
    plant: PlantDay,
    more: Callable[[TestClient, dict[str, str]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The day's figures as the real app gives them to an operator of the plant; `more` asks
    the same client for further figures of a plant's own, merged in."""
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            create_user(conn, "plant-operator", "operator-pass-1", "operator", plant.site)
    finally:
        engine.dispose()
    app = create_app(Settings(demo=True, database=DatabaseSettings(url=db_url)))
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/auth/token",
            data={"username": "plant-operator", "password": "operator-pass-1"},
        )
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        figures = day_figures(client, headers, plant)
        return {**figures, **more(client, headers)} if more else figures


def day_figures(client: TestClient, headers: dict[str, str], plant: PlantDay) -> dict[str, Any]:
    """What the API says of the day: per point, the site total and each product's intensity."""
    start, end = plant.bounds()
    span = {"start": start.isoformat(), "end": end.isoformat(), "granularity": "day"}
    base = f"/api/v1/sites/{plant.site}"
    per_point = client.get(
        f"{base}/consumption", params={**span, "group": "point"}, headers=headers
    )
    assert per_point.status_code == 200, per_point.text
    site = client.get(f"{base}/consumption", params={**span, "group": "site"}, headers=headers)
    assert site.status_code == 200, site.text
    intensity = client.get(
        f"{base}/intensity",
        params={"start": start.isoformat(), "end": end.isoformat(), "window_hours": 24},
        headers=headers,
    )
    assert intensity.status_code == 200, intensity.text
    last_bucket = end - timedelta(minutes=15)  # its rolling window is the day
    products = {}
    for ind in intensity.json()["indicators"]:
        values = {datetime.fromisoformat(t): v for t, v in ind["series"]}
        products[ind["product"]] = values.get(last_bucket)
    (total,) = site.json()["items"]
    return {
        "points": {i["key"]: i for i in per_point.json()["items"]},
        "site_tce": total["tce"],
        "intensity": products,
    }


def close(actual: float | None, expected: float) -> bool:
    if actual is None:
        return False
    return abs(actual - expected) <= RELATIVE * max(abs(expected), 1e-12)


def mismatches(figures: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every figure of the page the API does not give to 1e-9 relative, named."""
    out = []
    for field in ("quantity", "tce", "tco2"):
        for point, want in expected.get(field, {}).items():
            got = figures["points"].get(point, {}).get(field)
            if not close(got, float(want)):
                out.append(f"{point} {field}: API {got}, page {want}")
    if "site_tce" in expected and not close(figures["site_tce"], float(expected["site_tce"])):
        out.append(f"site tce: API {figures['site_tce']}, page {expected['site_tce']}")
    for product, want in expected.get("intensity", {}).items():
        got = figures["intensity"].get(product)
        if not close(got, float(want)):
            out.append(f"{product} intensity: API {got}, page {want}")
    return out
