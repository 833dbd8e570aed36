"""Thresholds resolved from the intensity_levels rows, and the hysteresis clear level."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from services.alerting.measure import local_day, resolve_thresholds
from services.alerting.registry import Level, Registry
from services.alerting.rules import parse_rule

DAY = date(2026, 11, 20)
NDRC_2023 = Level(
    "coke_top_charged",
    "kgce_per_t",
    "kgce/t",
    {"level1": 110.0, "level2": None, "level3": 135.0},
    "NDRC 2023",
    date(2023, 6, 6),
)
# A made-up later edition: the tests need two editions, the shipped data has one per product.
LATER = Level(
    "coke_top_charged",
    "kgce_per_t",
    "kgce/t",
    {"level1": 100.0, "level2": 115.0, "level3": 125.0},
    "a later edition",
    date(2026, 5, 1),
)
REG = Registry(
    levels={
        "coke_top_charged": [NDRC_2023],
        "converter_steel": [
            Level(
                "converter_steel",
                "kgce_per_t",
                "kgce/t",
                {"level1": -30.0, "level2": -25.0, "level3": -10.0},
                "GB 21256",
                date(2014, 10, 1),
            )
        ],
    }
)


def rule(**extra):
    return parse_rule(
        {"name": "r", "kind": "intensity", "select": {"product": "coke_top_charged"}, **extra}
    )


def test_level_references_read_the_table_and_skip_missing_levels():
    thresholds, clear, cited = resolve_thresholds(
        rule(thresholds={"info": "level1", "warning": "level2", "critical": "level3"}), REG, DAY
    )
    assert thresholds[0] == 110.0 and math.isnan(thresholds[1]) and thresholds[2] == 135.0
    assert clear == 110.0  # no hysteresis: the lowest threshold
    assert cited["standard"] == "NDRC 2023"


def test_hysteresis_share_and_negative_levels():
    _, clear, _ = resolve_thresholds(
        rule(thresholds={"warning": "level1"}, hysteresis=0.02), REG, DAY
    )
    assert clear == pytest.approx(107.8)
    neg = parse_rule(
        {
            "name": "n",
            "kind": "intensity",
            "select": {"product": "converter_steel"},
            "thresholds": {"warning": "level1"},
            "hysteresis": 0.1,
        }
    )
    _, clear, _ = resolve_thresholds(neg, REG, DAY)
    assert clear == pytest.approx(-33.0)  # further below -30, the safe side


def test_below_rules_clear_above_the_threshold():
    completeness = parse_rule({"name": "c", "kind": "completeness", "hysteresis": 0.05})
    thresholds, clear, _ = resolve_thresholds(completeness, REG, DAY)
    assert thresholds[1] == 0.9 and clear == pytest.approx(0.945)


def test_a_day_is_judged_by_the_edition_in_force_on_it():
    reg = Registry(levels={"coke_top_charged": [NDRC_2023, LATER]})
    three = rule(thresholds={"info": "level1", "warning": "level2", "critical": "level3"})
    before, _, cited_before = resolve_thresholds(three, reg, date(2026, 4, 30))
    on, _, cited_on = resolve_thresholds(three, reg, date(2026, 5, 1))
    assert before[0] == 110.0 and math.isnan(before[1]) and before[2] == 135.0
    assert list(on) == [100.0, 115.0, 125.0]
    assert cited_before["standard"] == "NDRC 2023" and cited_on["standard"] == "a later edition"
    # a day before every edition: the earliest known
    early, _, _ = resolve_thresholds(three, reg, date(2020, 1, 1))
    assert early[2] == 135.0


def test_the_day_is_the_sites_local_day():
    # 16:00 UTC on 30 April is 00:00 on 1 May in Shanghai: the new edition already judges
    now = datetime(2026, 4, 30, 16, 0, tzinfo=UTC)
    assert local_day(now, "Asia/Shanghai") == date(2026, 5, 1)
    assert local_day(now, "UTC") == date(2026, 4, 30)
