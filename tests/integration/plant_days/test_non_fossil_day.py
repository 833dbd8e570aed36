"""The day of docs/computation.md "Worked day: a plant with rooftop PV and a green direct line":
non-fossil electricity counted in the site total and reported beside it, through registry
import, broker, ingest, rollup and API (consumption, energy flows, daily and monthly reports),
to 1e-9 relative."""

from __future__ import annotations

import csv
import io
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.integration.plant_days.harness import (
    PlantDay,
    api_figures,
    close,
    mismatches,
    plant_day,
    run_day,
)
from tests.support.services import BrokerAddress


def _sheet(body: bytes) -> list[dict[str, Any]]:
    rows = list(load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True))
    # a read-only sheet leaves out a row's empty cells at its end
    return [dict(zip_longest(rows[0], row)) for row in rows[1:]]


def _non_fossil_answers(plant: PlantDay) -> Any:
    start, end = plant.bounds()
    span = {"start": start.isoformat(), "end": end.isoformat(), "granularity": "day"}
    base = f"/api/v1/sites/{plant.site}"

    def ask(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
        def get(path: str, **params: str) -> Any:
            r = client.get(path, params=params, headers=headers)
            assert r.status_code == 200, r.text
            return r

        day, month = plant.day.isoformat(), plant.day.strftime("%Y-%m")
        daily = f"/api/v1/reports/sites/{plant.site}/daily"
        return {
            "site": get(f"{base}/consumption", **span, group="site").json()["items"],
            "measure": get(f"{base}/consumption", **span, group="measure").json()["items"],
            "flows": get(f"{base}/energy-flows", day=day).json(),
            "daily": list(
                csv.DictReader(
                    io.StringIO(get(daily, day=day, format="csv").content.decode("utf-8-sig"))
                )
            ),
            "daily_xlsx": _sheet(get(daily, day=day, format="xlsx").content),
            "monthly": get(
                f"/api/v1/reports/sites/{plant.site}/monthly", month=month, format="json"
            ).json(),
        }

    return ask


def test_the_non_fossil_day_equals_the_page(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, tmp_path: Path
) -> None:
    plant = plant_day("non-fossil")
    want = plant.expected
    run_day(plant, db_url, mqtt_broker, topic_prefix, tmp_path)
    figures = api_figures(db_url, plant, _non_fossil_answers(plant))
    assert mismatches(figures, want) == []
    points = figures["points"]
    # counted in the site total as any consumption: inputs, PV and green purchase included,
    # less the export
    inputs = sum(points[p]["tce"] for p in ("C01", "E01", "E02", "PV1"))
    assert figures["site_tce"] == pytest.approx(inputs - points["X01"]["tce"], rel=1e-9)
    assert points["PV1"]["non_fossil_tce"] == pytest.approx(points["PV1"]["tce"], rel=1e-9)
    assert points["E01"]["non_fossil_tce"] == 0.0

    (site,) = figures["site"]
    assert close(site["tco2"], want["site_tco2"]), site
    assert close(site["non_fossil_tce"], want["non_fossil_tce"]), site
    assert close(site["non_fossil_kwh"], want["non_fossil_kwh"]), site
    electricity = {i["key"]: i for i in figures["measure"]}["electricity"]
    assert close(electricity["quantity"], want["electricity_kwh"]), electricity
    assert close(electricity["tce"], want["electricity_tce"]), electricity
    assert close(electricity["non_fossil_kwh"], want["non_fossil_kwh"]), electricity
    assert close(electricity["non_fossil_tce"], want["non_fossil_tce"]), electricity

    flows = figures["flows"]
    assert close(flows["total_tce"], want["site_tce"]), flows["total_tce"]
    assert close(flows["non_fossil_tce"], want["non_fossil_tce"]), flows["non_fossil_tce"]
    marks = {p["point"]: p["non_fossil"] for p in flows["points"]}
    assert marks == {
        "C01": None,
        "E01": None,
        "E02": "green_certificate",
        "PV1": "own_renewable",
        "X01": None,
    }

    daily = {r["point"]: r for r in figures["daily"]}
    assert close(float(daily["TOTAL"]["tce"]), want["site_tce"])
    assert close(float(daily["TOTAL"]["non_fossil_tce"]), want["non_fossil_tce"])
    assert daily["PV1"]["non_fossil"] == "own_renewable"
    assert close(float(daily["E02"]["non_fossil_tce"]), want["tce"]["E02"])
    assert daily["E01"]["non_fossil"] == daily["E01"]["non_fossil_tce"] == ""
    sheet = {r["point"]: r for r in figures["daily_xlsx"]}
    assert close(sheet["TOTAL"]["non_fossil_tce"], want["non_fossil_tce"]), sheet["TOTAL"]
    assert sheet["E02"]["non_fossil"] == "green_certificate"
    assert sheet["E01"]["non_fossil_tce"] is None

    monthly = figures["monthly"]
    columns = monthly["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in monthly["rows"]]
    (of_the_day,) = [
        r
        for r in rows
        if r["day"] == plant.day.isoformat()
        and r["measure"] == "electricity"
        and r["role"] == "consumption"
    ]
    assert close(of_the_day["non_fossil_tce"], want["non_fossil_tce"]), of_the_day
    assert {r["non_fossil_tce"] for r in rows if r["role"] != "consumption"} == {None}
