"""Rule validation: good rules load, bad ones are refused naming file and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.alerting.rules import (
    RuleError,
    default_rules,
    load_rules_dir,
    parse_duration,
    parse_rule,
)


def test_shipped_rule_set_loads_and_cites_its_standards():
    rules = default_rules()
    kinds = {r.kind for r in rules}
    assert {
        "intensity",
        "pue",
        "supply_coal_rate",
        "budget_pace",
        "budget_projection",
        "pollutant",
        "silent",
        "counter_reset",
        "stuck",
        "negative",
        "completeness",
    } <= kinds
    for rule in rules:
        if rule.kind in ("intensity", "pue", "supply_coal_rate", "pollutant"):
            assert rule.source, rule.name


def test_definition_round_trips():
    for rule in default_rules():
        assert parse_rule(rule.definition()) == rule


def test_durations():
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration(90) == timedelta(seconds=90)
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_bad_rule_names_the_field():
    with pytest.raises(RuleError, match=r"rule \(x\): for: .*duration"):
        parse_rule({"name": "x", "kind": "power", "thresholds": {"warning": 1}, "for": "soon"})
    with pytest.raises(RuleError, match="thresholds"):
        parse_rule({"name": "x", "kind": "power"})
    with pytest.raises(RuleError, match="clear"):
        parse_rule({"name": "x", "kind": "power", "thresholds": {"warning": 10}, "clear": 12})
    with pytest.raises(RuleError, match=r"select\.product"):
        parse_rule({"name": "x", "kind": "intensity", "thresholds": {"warning": 1}})
    with pytest.raises(RuleError, match="unknown_field"):
        parse_rule({"name": "x", "kind": "power", "thresholds": {"warning": 1}, "unknown_field": 1})


def test_bad_file_names_file_and_index(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - {name: ok, kind: power, thresholds: {warning: 5}}\n"
        "  - {name: bad, kind: power, thresholds: {warning: 5}, recipients: [{email: nope}]}\n"
    )
    with pytest.raises(RuleError) as err:
        load_rules_dir(tmp_path)
    assert "a.yaml: rules[1] (bad): recipients.0.email" in str(err.value)


def test_duplicate_names_across_files_refused(tmp_path: Path):
    for name in ("a.yaml", "b.yml"):
        (tmp_path / name).write_text(
            "rules:\n  - {name: same, kind: silent, thresholds: {warning: 5}}\n"
        )
    with pytest.raises(RuleError, match="defined twice"):
        load_rules_dir(tmp_path)
