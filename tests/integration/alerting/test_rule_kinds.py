"""Each rule kind fires on crafted data and resolves when the data recover."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from energywatch.core.budget import DEFAULT_MIN_COVERED
from energywatch.core.timegrid import from_ms, local_year_bounds
from services.alerting import inputs
from services.alerting.inputs import STATS_POINTS_PER_ROW, CycleInputs, bucket_floor
from services.alerting.measure import measure
from services.alerting.registry import load_registry
from services.alerting.rollup_cache import RollupCache
from services.alerting.rules import parse_rule
from tests.integration.alerting.support import (
    add_buckets,
    add_point,
    add_readings,
    add_site,
    open_state,
)
from tests.support.clock import SITE_TZ, at_upcoming_instants, local_day

M = timedelta(minutes=1)
Q = timedelta(minutes=15)


@dataclass
class Scenario:
    rule: dict[str, Any]
    setup: Callable[[psycopg.Connection, datetime], str]  # returns the subject
    recover: Callable[[psycopg.Connection, datetime], None]
    later: timedelta = timedelta(seconds=1)  # when the recovered state is evaluated
    severity: str = "critical"


def buckets(conn, point, t, n, quantity=0.0, tce=0.0, tco2=0.0, completeness=1.0):
    add_buckets(
        conn, point, [(t - Q * (k + 1), quantity, tce, tco2, completeness) for k in range(n)]
    )


def _intensity_setup(conn, t):
    site = add_site(conn, "COKE1")
    e = add_point(conn, site, "COAL", "washed_coal", unit="t")
    o = add_point(conn, site, "OUT", "product", role="output", product="coke_top_charged", unit="t")
    buckets(conn, e, t, 4, quantity=10, tce=10)
    buckets(conn, o, t, 4, quantity=50)  # 1000 * 40 tce / 200 t = 200 kgce/t > 135
    return "site:COKE1"


def _intensity_recover(conn, t):
    e = conn.execute("SELECT id FROM points WHERE code = 'COAL'").fetchone()[0]
    buckets(conn, e, t, 4, quantity=4, tce=4)  # 80 kgce/t


def _pue_setup(conn, t):
    site = add_site(conn, "DC1", industry="data_centre")
    f = add_point(conn, site, "MAIN", "electricity")
    it = add_point(conn, site, "IT", "electricity", role="it_load")
    buckets(conn, f, t, 4, quantity=2000)
    buckets(conn, it, t, 4, quantity=1000)
    return "site:DC1"


def _pue_recover(conn, t):
    f = conn.execute("SELECT id FROM points WHERE code = 'MAIN'").fetchone()[0]
    buckets(conn, f, t, 4, quantity=1100)


def _scr_setup(conn, t):
    site = add_site(conn, "PP1", industry="coal_power")
    c = add_point(conn, site, "COAL", "raw_coal", unit="t")
    s = add_point(conn, site, "SUP", "electricity", role="supply")
    buckets(conn, c, t, 4, tce=0.35)
    buckets(conn, s, t, 4, quantity=1000)  # 1e6 * 1.4 / 4000 = 350 gce/kWh
    return "site:PP1"


def _scr_recover(conn, t):
    s = conn.execute("SELECT id FROM points WHERE code = 'SUP'").fetchone()[0]
    buckets(conn, s, t, 4, quantity=1500)  # 233 gce/kWh


def _energy_setup(column):
    def setup(conn, t):
        site = add_site(conn, "ST1", industry="steel")
        e = add_point(conn, site, "GAS", "natural_gas", unit="m3")
        buckets(conn, e, t, 4, **{column: 10.0})
        return "site:ST1"

    return setup


def _energy_recover(column):
    def recover(conn, t):
        e = conn.execute("SELECT id FROM points WHERE code = 'GAS'").fetchone()[0]
        buckets(conn, e, t, 4, **{column: 5.0})

    return recover


def _budget_setup(conn, t):
    site = add_site(conn, "BUD1", energy_budget=1000, carbon_budget=3000)
    e = add_point(conn, site, "E", "electricity")
    # Data from a day before (or the year's start): pace and projection are judged over the
    # span the data cover, and less than a day is too short to judge (energywatch/core/budget.py).
    y0, _ = local_year_bounds(SITE_TZ.key, local_day(t).year)
    first = max(from_ms(y0), bucket_floor(t - timedelta(days=1)) - Q)
    add_buckets(conn, e, [(first, 0, 0.0, 0, 1), (t - Q, 0, 5000.0, 0, 1)])
    return "site:BUD1"


def _budget_recover(conn, t):
    e = conn.execute("SELECT id FROM points WHERE code = 'E'").fetchone()[0]
    # Small enough to be under pace over the day the data cover.
    add_buckets(conn, e, [(t - Q, 0, 0.1, 0, 1)])


def _instant_setup(code, measure, role, value, unit):
    def setup(conn, t):
        site = add_site(conn, "S1")
        p = add_point(conn, site, code, measure, kind="instantaneous", role=role, unit=unit)
        add_readings(conn, p, [(t - timedelta(seconds=s), value) for s in (50, 30, 10)])
        return f"point:S1/{code}"

    return setup


def _instant_recover(code, value):
    def recover(conn, t):
        p = conn.execute("SELECT id FROM points WHERE code = %s", (code,)).fetchone()[0]
        add_readings(conn, p, [(t + timedelta(seconds=s), value) for s in (65, 85, 105)])

    return recover


def _silent_setup(conn, t):
    site = add_site(conn, "S1")
    p = add_point(conn, site, "E", "electricity", created_at=t - timedelta(days=1))
    add_readings(conn, p, [(t - 40 * M, 100.0)])
    return "point:S1/E"


def _silent_recover(conn, t):
    p = conn.execute("SELECT id FROM points WHERE code = 'E'").fetchone()[0]
    add_readings(conn, p, [(t, 101.0)])


def _counter_setup(conn, t):
    site = add_site(conn, "S1")
    p = add_point(conn, site, "E", "electricity")
    add_readings(conn, p, [(t - 8 * M, 1000.0), (t - 6 * M, 1010.0), (t - 4 * M, 5.0)])
    return "point:S1/E"


def _counter_recover(conn, t):
    p = conn.execute("SELECT id FROM points WHERE code = 'E'").fetchone()[0]
    add_readings(conn, p, [(t + 8 * M, 6.0), (t + 9 * M, 7.0)])


def _stuck_setup(conn, t):
    site = add_site(conn, "S1")
    p = add_point(conn, site, "E", "electricity")
    add_readings(conn, p, [(t - k * M, 500.0) for k in range(10)])
    return "point:S1/E"


def _stuck_recover(conn, t):
    p = conn.execute("SELECT id FROM points WHERE code = 'E'").fetchone()[0]
    add_readings(conn, p, [(t + 30 * 1 * timedelta(seconds=1), 501.0)])


def _negative_setup(conn, t):
    site = add_site(conn, "S1")
    p = add_point(conn, site, "G", "natural_gas", kind="interval", unit="m3")
    add_readings(conn, p, [(t - 5 * M, 3.0), (t - 4 * M, -5.0), (t - 3 * M, 2.0)])
    return "point:S1/G"


def _negative_recover(conn, t):
    p = conn.execute("SELECT id FROM points WHERE code = 'G'").fetchone()[0]
    add_readings(conn, p, [(t + 8 * M, 2.0)])


def _completeness_setup(conn, t):
    site = add_site(conn, "S1")
    p = add_point(conn, site, "E", "electricity", created_at=t - timedelta(days=1))
    buckets(conn, p, t, 8, quantity=1, completeness=0.5)
    return "point:S1/E"


def _completeness_recover(conn, t):
    p = conn.execute("SELECT id FROM points WHERE code = 'E'").fetchone()[0]
    buckets(conn, p, t, 8, quantity=1, completeness=1.0)


SCENARIOS = {
    "intensity": Scenario(
        {
            "kind": "intensity",
            "select": {"product": "coke_top_charged"},
            "window": "2h",
            "thresholds": {"warning": "level1", "critical": "level3"},
            "hysteresis": 0.02,
        },
        _intensity_setup,
        _intensity_recover,
    ),
    "pue": Scenario(
        {
            "kind": "pue",
            "select": {"product": "data_centre"},
            "window": "2h",
            "thresholds": {"warning": "level1", "critical": "level3"},
        },
        _pue_setup,
        _pue_recover,
    ),
    "supply_coal_rate": Scenario(
        {
            "kind": "supply_coal_rate",
            "select": {"product": "coal_power"},
            "window": "2h",
            "thresholds": {"warning": "level1", "critical": "level3"},
        },
        _scr_setup,
        _scr_recover,
    ),
    "energy": Scenario(
        {"kind": "energy", "window": "1h", "thresholds": {"critical": 30}},
        _energy_setup("tce"),
        _energy_recover("tce"),
    ),
    "emissions": Scenario(
        {"kind": "emissions", "window": "1h", "thresholds": {"critical": 30}},
        _energy_setup("tco2"),
        _energy_recover("tco2"),
    ),
    "budget_pace": Scenario(
        {"kind": "budget_pace", "thresholds": {"warning": 1.0, "critical": 1.1}},
        _budget_setup,
        _budget_recover,
    ),
    "budget_projection": Scenario(
        {"kind": "budget_projection", "thresholds": {"warning": 0.9, "critical": 1.0}},
        _budget_setup,
        _budget_recover,
    ),
    "power": Scenario(
        {
            "kind": "power",
            "window": "1m",
            "thresholds": {"warning": 800, "critical": 1000},
            "clear": 780,
        },
        _instant_setup("P", "power", "consumption", 1200.0, "kW"),
        _instant_recover("P", 700.0),
        later=2 * M,
    ),
    "pollutant": Scenario(
        {
            "kind": "pollutant",
            "select": {"measure": "so2"},
            "window": "1m",
            "thresholds": {"critical": 35},
            "clear": 33,
        },
        _instant_setup("SO2", "so2", "emission", 50.0, "mg/m3"),
        _instant_recover("SO2", 20.0),
        later=2 * M,
    ),
    "silent": Scenario(
        {"kind": "silent", "thresholds": {"critical": 30}}, _silent_setup, _silent_recover
    ),
    "counter_reset": Scenario(
        {"kind": "counter_reset", "window": "10m"},
        _counter_setup,
        _counter_recover,
        later=10 * M,
        severity="warning",
    ),
    "stuck": Scenario(
        {"kind": "stuck", "window": "10m"},
        _stuck_setup,
        _stuck_recover,
        later=30 * M / 60,
        severity="warning",
    ),
    "negative": Scenario(
        {"kind": "negative", "window": "10m"},
        _negative_setup,
        _negative_recover,
        later=10 * M,
        severity="warning",
    ),
    "completeness": Scenario(
        {"kind": "completeness", "window": "2h", "thresholds": {"warning": 0.9}, "clear": 0.92},
        _completeness_setup,
        _completeness_recover,
        severity="warning",
    ),
}


def same_values_from_ring_and_sql(conn, rule_doc, now):
    """Site kinds read the in-memory rollup ring; it must agree with plain SQL sums."""
    reg = load_registry(conn)
    rule = parse_rule({"name": "check", **rule_doc})
    cache = RollupCache()
    with conn.transaction():
        cache.refresh(conn, list(reg.points), reg.summed_points)
        cached = measure(rule, reg, CycleInputs(conn, now, cache, reg))
        plain = measure(rule, reg, CycleInputs(conn, now))
    assert cached.subjects == plain.subjects
    np.testing.assert_allclose(cached.value, plain.value, rtol=1e-12)


BUDGET_KINDS = ("budget_pace", "budget_projection")


def evaluated_at(kind: str, t0: datetime) -> datetime:
    """t0, except for the budget kinds in the first 1/365 of the site's local year: pace and
    projection mean nothing then and the product gives none (no alert), so those scenarios
    are evaluated once that share of the year is gone."""
    if kind not in BUDGET_KINDS:
        return t0
    y0, y1 = local_year_bounds(SITE_TZ.key, local_day(t0).year)
    meaningful = from_ms(y0 + math.ceil((y1 - y0) * DEFAULT_MIN_COVERED))
    return max(t0, bucket_floor(meaningful) + Q)


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_rule_kind_fires_and_resolves(kind, conn, t0, make_evaluator):
    fires_and_resolves(kind, conn, evaluated_at(kind, t0), make_evaluator)


@at_upcoming_instants
@pytest.mark.parametrize("kind", BUDGET_KINDS)
def test_budget_kinds_fire_and_resolve_on_any_date(kind, conn, t0, make_evaluator):
    fires_and_resolves(kind, conn, evaluated_at(kind, t0), make_evaluator)


def fires_and_resolves(kind, conn, t0, make_evaluator):
    sc = SCENARIOS[kind]
    name = f"test.{kind}"
    evaluator = make_evaluator([{"name": name, **sc.rule}])
    subject = sc.setup(conn, t0)
    ring_kind = parse_rule({"name": "k", **sc.rule}).per_site or kind == "completeness"
    if ring_kind:
        same_values_from_ring_and_sql(conn, sc.rule, t0)

    report = evaluator.cycle(t0)
    assert open_state(conn, name, subject) == "firing", report
    severity, value, threshold = conn.execute(
        "SELECT severity, value, threshold FROM alerts WHERE rule = %s", (name,)
    ).fetchone()
    assert severity == sc.severity
    evidence = conn.execute(
        "SELECT evidence FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id "
        "WHERE a.rule = %s AND t.to_state = 'firing'",
        (name,),
    ).fetchone()[0]
    assert evidence["value"] == pytest.approx(value)
    assert evidence["thresholds"][sc.severity] == pytest.approx(threshold)
    assert evidence["window_s"] > 0

    sc.recover(conn, t0)
    if ring_kind:
        same_values_from_ring_and_sql(conn, sc.rule, t0 + sc.later)
    evaluator.cycle(t0 + sc.later)
    assert open_state(conn, name, subject) is None
    states = [
        r[0]
        for r in conn.execute(
            "SELECT to_state FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id "
            "WHERE a.rule = %s ORDER BY t.id",
            (name,),
        )
    ]
    assert states == ["firing", "resolved"]


def test_intensity_evidence_cites_the_standard(conn, t0, make_evaluator):
    evaluator = make_evaluator([{"name": "i", **SCENARIOS["intensity"].rule}])
    _intensity_setup(conn, t0)
    evaluator.cycle(t0)
    value, threshold = conn.execute("SELECT value, threshold FROM alerts").fetchone()
    assert value == pytest.approx(200.0)
    assert threshold == 135.0  # level3 of coke_top_charged in intensity_levels
    evidence = conn.execute("SELECT evidence FROM alert_transitions").fetchone()[0]
    assert evidence["inputs"] == {
        "numerator": pytest.approx(40.0),
        "denominator": pytest.approx(200.0),
    }
    assert json.dumps(evidence)  # stored as JSON


@at_upcoming_instants
@pytest.mark.parametrize("per_row", [STATS_POINTS_PER_ROW, 1])
def test_small_dip_is_negative_and_large_drop_or_rollover_is_not(conn, t0, per_row, monkeypatch):
    """Cumulative registers: a dip within reset_share is negative consumption, a large drop
    a reset, and a wrap past the rollover value neither."""
    site = add_site(conn, "S1")
    dip = add_point(conn, site, "DIP", "electricity")
    reset = add_point(conn, site, "RST", "electricity")
    wrap = add_point(conn, site, "WRP", "electricity")
    conn.execute("UPDATE points SET rollover = 100000 WHERE id = %s", (wrap,))
    monkeypatch.setattr(inputs, "STATS_POINTS_PER_ROW", per_row)  # 1: a packed row per point
    add_readings(conn, dip, [(t0 - 3 * M, 1000.0), (t0 - 2 * M, 995.0), (t0 - M, 1001.0)])
    add_readings(conn, reset, [(t0 - 3 * M, 1000.0), (t0 - 2 * M, 3.0)])
    add_readings(conn, wrap, [(t0 - 3 * M, 99990.0), (t0 - 2 * M, 20.0)])
    reg = load_registry(conn)
    ids = tuple(sorted(reg.points))
    resets, negatives = CycleInputs(conn, t0, registry=reg).drops(10 * M, ids, 0.1)
    assert dict(zip(ids, resets.tolist(), strict=True)) == {dip: 0, reset: 1, wrap: 0}
    assert dict(zip(ids, negatives.tolist(), strict=True)) == {dip: 1, reset: 0, wrap: 0}


@at_upcoming_instants
def test_silence_counts_from_the_newest_reading_or_from_registration(conn, t0):
    """Minutes since the newest reading: from a scan of the cycle where one covers the point,
    from an index probe where none does, and from registration for a point never heard."""
    site = add_site(conn, "S1")
    recent = add_point(conn, site, "A", "electricity")
    quiet = add_point(conn, site, "B", "electricity")
    never = add_point(conn, site, "C", "electricity", created_at=t0 - 90 * M)
    add_readings(conn, recent, [(t0 - 12 * M, 1.0), (t0 - 3 * M, 2.0), (t0 + M, 3.0)])
    add_readings(conn, quiet, [(t0 - 200 * M, 1.0)])  # before the scan's window
    reg = load_registry(conn)
    rule = parse_rule({"name": "test.silent", "kind": "silent", "thresholds": {"critical": 30}})
    points = [reg.points[p] for p in (recent, quiet, never)]
    cycle = CycleInputs(conn, t0, registry=reg, scans={(15 * M, 0.0): (recent, quiet, never)})
    measured = measure(rule, reg, cycle, {rule.name: points})
    assert measured.value.tolist() == pytest.approx([3.0, 200.0, 90.0])  # t0 + M: after now


def test_completeness_is_not_judged_before_the_point_existed(conn, t0, make_evaluator):
    """A point registered an hour ago has no 2-hour window to be incomplete in."""
    evaluator = make_evaluator([{"name": "test.new", **SCENARIOS["completeness"].rule}])
    site = add_site(conn, "S1")
    p = add_point(conn, site, "E", "electricity", created_at=t0 - timedelta(hours=1))
    buckets(conn, p, t0, 4, quantity=1, completeness=0.5)
    evaluator.cycle(t0)
    assert open_state(conn, "test.new", "point:S1/E") is None
    conn.execute("UPDATE points SET created_at = %s WHERE id = %s", (t0 - timedelta(days=1), p))
    evaluator.cycle(t0)
    assert open_state(conn, "test.new", "point:S1/E") == "firing"
