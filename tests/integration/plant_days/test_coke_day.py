"""The coke plant's day of docs/computation.md ("Worked day: a coke plant selling coke-oven
gas"), through registry import, broker, ingest, rollup and API, to 1e-9 relative."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.plant_days.harness import api_figures, mismatches, plant_day, run_day
from tests.support.services import BrokerAddress


def test_the_coke_plant_day_equals_the_page(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, tmp_path: Path
) -> None:
    plant = plant_day("coke")
    run_day(plant, db_url, mqtt_broker, topic_prefix, tmp_path)
    figures = api_figures(db_url, plant)
    assert mismatches(figures, plant.expected) == []
    # The gas sold leaves the boundary: without the export the site would stand higher by
    # exactly the gas's tce, and the level-2 sub-meter adds nothing.
    points = figures["points"]
    level_one = ("C01", "E01", "S01")
    inputs = sum(points[p]["tce"] for p in level_one)
    outputs = points["K01"]["tce"] + points["G01"]["tce"]
    assert figures["site_tce"] == pytest.approx(inputs - outputs, rel=1e-9)
