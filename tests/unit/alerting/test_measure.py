"""Thresholds resolved from the intensity_levels rows, and the hysteresis clear level."""

from __future__ import annotations

import math

import pytest

from services.alerting.measure import resolve_thresholds
from services.alerting.registry import Level, Registry
from services.alerting.rules import parse_rule

REG = Registry(
    levels={
        "coke_top_charged": Level(
            "coke_top_charged",
            "kgce_per_t",
            "kgce/t",
            {"level1": 110.0, "level2": None, "level3": 135.0},
            "NDRC 2023",
        ),
        "converter_steel": Level(
            "converter_steel",
            "kgce_per_t",
            "kgce/t",
            {"level1": -30.0, "level2": -25.0, "level3": -10.0},
            "GB 21256",
        ),
    }
)


def rule(**extra):
    return parse_rule(
        {"name": "r", "kind": "intensity", "select": {"product": "coke_top_charged"}, **extra}
    )


def test_level_references_read_the_table_and_skip_missing_levels():
    thresholds, clear, cited = resolve_thresholds(
        rule(thresholds={"info": "level1", "warning": "level2", "critical": "level3"}), REG
    )
    assert thresholds[0] == 110.0 and math.isnan(thresholds[1]) and thresholds[2] == 135.0
    assert clear == 110.0  # no hysteresis: the lowest threshold
    assert cited["standard"] == "NDRC 2023"


def test_hysteresis_share_and_negative_levels():
    _, clear, _ = resolve_thresholds(rule(thresholds={"warning": "level1"}, hysteresis=0.02), REG)
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
    _, clear, _ = resolve_thresholds(neg, REG)
    assert clear == pytest.approx(-33.0)  # further below -30, the safe side


def test_below_rules_clear_above_the_threshold():
    completeness = parse_rule({"name": "c", "kind": "completeness", "hysteresis": 0.05})
    thresholds, clear, _ = resolve_thresholds(completeness, REG)
    assert thresholds[1] == 0.9 and clear == pytest.approx(0.945)
