"""docs/computation.md works one coking plant's day by hand; the code must agree with it."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from energywatch.core.indicators import rolling_intensity
from energywatch.core.timegrid import to_ms
from energywatch.reference import load_reference
from services.rollup.compute import Readings, compute
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.plan import Span

DOC = Path(__file__).resolve().parents[3] / "docs" / "computation.md"
QUARTER = 900_000
CATEGORY = {"product": "product"}


def worked_example() -> dict[str, Any]:
    text = DOC.read_text("utf-8")
    block = re.search(r"```yaml\n# worked-example\n(.*?)```", text, re.S)
    assert block, "docs/computation.md lost its worked-example block"
    doc: dict[str, Any] = yaml.safe_load(block.group(1))
    return doc


def day_bounds(doc: dict[str, Any]) -> tuple[int, int]:
    tz = ZoneInfo(doc["timezone"])
    day = doc["day"] if isinstance(doc["day"], date) else date.fromisoformat(doc["day"])
    start = to_ms(datetime(day.year, day.month, day.day, tzinfo=tz))
    return start, start + 96 * QUARTER


def meter_readings(meter: dict[str, Any], start: int) -> tuple[np.ndarray, np.ndarray]:
    """A register read every 15 minutes from 00:00 to 24:00, rising evenly, wrapping."""
    rollover = meter.get("rollover")
    rise = meter["end"] - meter["start"]
    if rise < 0:
        rise += rollover
    steps = np.arange(97)
    values = meter["start"] + rise * steps / 96
    if rollover:
        values = np.where(values >= rollover, values - rollover, values)
    return start + steps * QUARTER, values


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    doc = worked_example()
    start, end = day_bounds(doc)
    ref = load_reference()
    names = list(doc["meters"])
    points = {
        i: PointInfo(
            point_id=i,
            measure=name,
            category=CATEGORY.get(name, "energy"),
            kind=doc["meters"][name]["kind"],
            rollover=doc["meters"][name].get("rollover"),
            scale=1.0,
            timezone=doc["timezone"],
            factor_set=None,  # the first (only) shipped set, cn-mee-2022
            grid_region=doc["grid_region"],
        )
        for i, name in enumerate(names)
    }
    spans = [Span(i, start, end) for i in points]
    ts, values, span = [], [], []
    for i, name in enumerate(names):
        t, v = meter_readings(doc["meters"][name], start)
        ts.append(t)
        values.append(v)
        span.append(np.full(t.size, i))
    readings = Readings(
        np.concatenate(span),
        np.concatenate(ts),
        np.concatenate(values),
        np.zeros(sum(t.size for t in ts), dtype=np.int16),
    )
    reference = ReferenceRows(
        list(ref.coal), list(ref.emission_factors), {fs.code: fs for fs in ref.factor_sets}
    )
    rows = compute(spans, points, readings, reference)
    return {"doc": doc, "names": names, "rows": rows}


def totals(day: dict[str, Any], field: str) -> dict[str, float]:
    rows = day["rows"]
    return {
        name: float(getattr(rows, field)[rows.point_id == i].sum())
        for i, name in enumerate(day["names"])
    }


@pytest.mark.parametrize("field", ["quantity", "tce", "tco2"])
def test_each_energy_type_matches_the_hand_computation(day: dict[str, Any], field: str) -> None:
    expected = day["doc"]["expected"][field]
    got = totals(day, field)
    for name, value in expected.items():
        # the page rounds to four decimals
        assert got[name] == pytest.approx(value, abs=6e-5, rel=1e-9), name


def test_day_totals_and_intensity(day: dict[str, Any]) -> None:
    expected = day["doc"]["expected"]
    assert sum(totals(day, "tce").values()) == pytest.approx(expected["total_tce"], abs=1e-4)
    assert sum(totals(day, "tco2").values()) == pytest.approx(expected["total_tco2"], abs=1e-4)

    # the plant's 96 quarter-hours: tce of all energy against tonnes of coke, over one day
    rows = day["rows"]
    product = day["names"].index("product")
    buckets = np.unique(rows.bucket)
    assert buckets.size == 96
    tce = np.array([rows.tce[rows.bucket == b].sum() for b in buckets])
    output = np.array(
        [rows.quantity[(rows.bucket == b) & (rows.point_id == product)].sum() for b in buckets]
    )
    offsets = np.array([0, buckets.size], dtype=np.int64)
    intensity = rolling_intensity(offsets, buckets, tce, output, 86_400_000, 1.0)
    assert intensity[-1] == pytest.approx(expected["intensity_kgce_per_t"], abs=0.005)


def test_every_quarter_hour_is_complete(day: dict[str, Any]) -> None:
    assert np.all(day["rows"].completeness == day["doc"]["expected"]["completeness"])
