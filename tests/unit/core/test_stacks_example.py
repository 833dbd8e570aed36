"""docs/stacks.md works one stack hour and day by hand; the code must agree with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from energywatch.core.stacks import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    corrected_to_reference_o2,
    daily_means,
    emission_kg,
    hourly_means,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "stacks.md"
T0 = 1_796_688_000_000  # a UTC midnight; the example's hours start on it


def example() -> dict[str, Any]:
    block = re.search(r"```yaml\n# stack-example\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block, "docs/stacks.md lost its stack-example block"
    doc: dict[str, Any] = yaml.safe_load(block.group(1))
    return doc


def hour_minutes(doc: dict[str, Any], start: int) -> tuple[np.ndarray, ...]:
    """(minute ms, SO2, O2, valid) of one hour as the page's table gives it."""
    at, so2, o2, valid = [], [], [], []
    for first, last, c, ox, flag in doc["minutes"]:
        for m in range(first, last + 1):
            at.append(start + m * MINUTE_MS)
            so2.append(c)
            o2.append(ox)
            valid.append(flag == "N")
    return np.array(at), np.array(so2), np.array(o2), np.array(valid)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return example()


def test_hour_of_the_example(doc):
    want = doc["expected"]
    at, so2, o2, valid = hour_minutes(doc, T0)
    corrected = corrected_to_reference_o2(so2, o2, doc["reference_o2"])
    hour = hourly_means(at[valid], corrected[valid])
    assert hour.members.tolist() == [want["valid_minutes"]]
    assert hour.mean[0] == pytest.approx(want["hourly_corrected"], rel=1e-12)
    ignored = hourly_means(at, corrected)
    assert ignored.mean[0] == pytest.approx(want["hourly_corrected_flags_ignored"], rel=1e-12)
    measured = hourly_means(at[valid], so2[valid])
    assert measured.mean[0] == pytest.approx(want["hourly_measured"], rel=1e-12)
    kg = emission_kg(measured.mean, np.array([doc["flow_m3_h"]]))
    assert kg[0] == pytest.approx(want["hourly_kg"], rel=1e-12)


def test_day_of_the_example(doc):
    want = doc["expected"]
    hours = want["day_valid_hours"]
    at, so2, o2, valid = hour_minutes(doc, T0)
    corrected = corrected_to_reference_o2(so2, o2, doc["reference_o2"])
    minute_at = np.concatenate([at[valid] + h * HOUR_MS for h in range(hours)])
    minute_v = np.tile(corrected[valid], hours)
    by_hour = hourly_means(minute_at, minute_v)
    day = daily_means(by_hour.start, by_hour.mean)
    assert day.start.tolist() == [T0] and day.members.tolist() == [hours]
    assert day.mean[0] == pytest.approx(want["daily_corrected"], rel=1e-12)
    measured = hourly_means(minute_at, np.tile(so2[valid], hours))
    kg = emission_kg(measured.mean, np.full(hours, float(doc["flow_m3_h"])))
    assert kg.sum() == pytest.approx(want["daily_kg"], rel=1e-12)
    short = daily_means(by_hour.start[:-1], by_hour.mean[:-1])
    assert np.isnan(short.mean[0]) and short.members[0] == hours - 1
    assert DAY_MS // HOUR_MS == 24
