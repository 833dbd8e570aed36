"""The demo's own alert rule, next to the default rule set (which alerting loads as well).

The default SO2 rule judges the hourly mean and waits five minutes, as CEMS data are judged;
the demo adds a fast rule on the same limit so that the scripted breach shows the whole
alert lifecycle (pending, firing, resolved) within a minute or two.
"""

from __future__ import annotations

from pathlib import Path

DEMO_RULES = """\
# Written by `energywatch demo`; the default rule set is loaded as well.
rules:
  - name: demo.so2_stack_trip
    kind: pollutant
    description: "stack SO2 over the ultra-low limit (1-minute mean): desulphurisation trip"
    source: "ultra-low emission limits, coal power: SO2 35 mg/m3 (demo: 1-minute window)"
    select: {measure: so2, role: emission}
    thresholds: {critical: 35}
    clear: 33
    window: 1m
    reference_o2: 6
    for: 10s
    renotify: 1h
    recipients: [{contacts: operator}]
    escalation: {after: 5m}
"""


def write_demo_rules(rules_dir: Path) -> Path:
    rules_dir.mkdir(parents=True, exist_ok=True)
    path = rules_dir / "demo.yaml"
    path.write_text(DEMO_RULES, encoding="utf-8")
    return path
