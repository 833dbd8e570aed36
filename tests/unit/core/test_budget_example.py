"""docs/computation.md works a budget projection by hand; the code must agree with it."""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from energywatch.core.budget import DEFAULT_MIN_COVERED, budget_status
from energywatch.core.timegrid import to_ms, year_elapsed

DOC = Path(__file__).resolve().parents[3] / "docs" / "computation.md"


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    block = re.search(r"```yaml\n# budget-example\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block, "docs/computation.md lost its budget-example block"
    doc: dict[str, Any] = yaml.safe_load(block.group(1))
    return doc


def _ms(value: datetime | str) -> int:
    return to_ms(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def test_shares_of_the_year(example: dict[str, Any]) -> None:
    shares = year_elapsed(example["timezone"], _ms(example["now"]), _ms(example["data_since"]))
    assert shares.elapsed == pytest.approx(example["elapsed"], rel=1e-9)
    assert shares.covered == pytest.approx(example["covered"], rel=1e-9)


def test_figures_of_the_worked_example(example: dict[str, Any]) -> None:
    one = np.ones(1)
    got = budget_status(
        example["ytd_tce"] * one,
        example["budget_tce"] * one,
        example["elapsed"] * one,
        covered=example["covered"] * one,
    )
    for field in ("share_used", "prorated_budget", "pace", "projection", "projected_share"):
        assert getattr(got, field)[0] == pytest.approx(example[field], rel=1e-9), field


def test_twelve_hours_are_too_short_to_project(example: dict[str, Any]) -> None:
    covered = 0.5 / 365
    assert covered < DEFAULT_MIN_COVERED
    one = np.ones(1)
    got = budget_status(
        example["ytd_tce"] * one,
        example["budget_tce"] * one,
        example["elapsed"] * one,
        covered=covered * one,
    )
    assert math.isnan(got.projection[0]) and math.isnan(got.pace[0])
