"""docs/alerting.md says which level of each intensity row gives which severity; the shipped
rules must do what the page says, and no shipped rule may call the benchmark a breach."""

from __future__ import annotations

import re
from pathlib import Path

from services.alerting.rules import default_rules

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerting.md"
SEVERITIES = ("info", "warning", "critical")


def documented() -> dict[str, dict[str, str]]:
    """rule -> severity -> level, from the table under "Intensity levels and severities"."""
    section = DOC.read_text(encoding="utf-8").split("### Intensity levels and severities")[1]
    table: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(intensity\.\w+)`", cells[0])
        if name and len(cells) == 7:
            table[name[1]] = {
                sev: level for sev, level in zip(SEVERITIES, cells[4:], strict=True) if level != "–"
            }
    return table


def test_shipped_intensity_rules_follow_the_documented_levels():
    shipped = {
        r.name: dict(r.effective_thresholds)
        for r in default_rules()
        if r.kind in ("intensity", "pue", "supply_coal_rate")
    }
    table = documented()
    assert len(table) == 10
    assert shipped == table


def test_the_benchmark_is_an_advisory_only():
    for name, thresholds in documented().items():
        assert thresholds["info"] == "level1", name
        assert "level1" not in (thresholds.get("warning"), thresholds.get("critical")), name
