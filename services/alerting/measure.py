"""Per rule: its subjects, the value each one has now, and the evidence behind the value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from energywatch.core.budget import DEFAULT_MIN_COVERED, budget_status
from energywatch.core.chp import TURBINE_HEAT_MEASURES, heat_ratio
from energywatch.core.thresholds import F64, N_LEVELS
from energywatch.core.unit_balance import site_balance
from services.alerting.inputs import CycleInputs, SiteSums
from services.alerting.pollutant import measure_pollutant
from services.alerting.registry import Point, Registry, Site, select_points, select_sites
from services.alerting.rules import SEVERITIES, Rule

NAN = float("nan")
KGCE_PER_TCE = 1000.0
GCE_PER_TCE = 1_000_000.0


@dataclass
class Measured:
    rule: Rule
    subjects: list[str]
    site_ids: list[int]
    point_ids: list[int | None]
    value: F64
    # (N_LEVELS,) by severity rank, NaN where the rule has none; (n, N_LEVELS) when each
    # subject is judged by the edition of the levels in force on its own local day
    thresholds: F64
    clear: float | F64  # one, or one per subject
    evidence: dict[str, F64] = field(default_factory=dict)
    # per subject, structured evidence built on demand (pollutant minutes)
    details: list[Callable[[], dict[str, Any]]] | None = None

    def thresholds_of(self, i: int) -> F64:
        return self.thresholds if self.thresholds.ndim == 1 else self.thresholds[i]

    def clear_of(self, i: int) -> float:
        return float(self.clear if np.ndim(self.clear) == 0 else self.clear[i])  # type: ignore[index]

    def evidence_of(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, column in self.evidence.items():
            v = float(column[i])
            out[key] = None if v != v else v
        if self.details is not None:
            out.update(self.details[i]())
        return out


def resolve_thresholds(rule: Rule, reg: Registry, on: date) -> tuple[F64, float, dict[str, Any]]:
    """Thresholds by severity rank and the clear level; level refs read the edition of
    intensity_levels in force on local day `on`."""
    out = np.full(N_LEVELS, NAN)
    cited: dict[str, Any] = {}
    for severity, threshold in rule.effective_thresholds.items():
        if isinstance(threshold, str):
            level = reg.level(rule.select.product, on)
            value = level.levels.get(threshold) if level else None
            if level is None or value is None:
                continue  # that edition has no such level: the severity is left out
            cited = {"standard": level.source, "indicator": level.indicator, "unit": level.unit}
            out[SEVERITIES.index(severity)] = value
        else:
            out[SEVERITIES.index(severity)] = threshold
    defined = out[~np.isnan(out)]
    if rule.clear is not None:
        clear = rule.clear
    elif defined.size == 0:
        clear = NAN
    else:
        above = rule.effective_direction == "above"
        lowest = float(defined.min() if above else defined.max())
        gap = abs(lowest) * (rule.hysteresis or 0.0)
        clear = lowest - gap if above else lowest + gap
    return out, clear, cited


SCANNED_KINDS = ("power", "stuck", "counter_reset", "negative")


Selection = dict[str, list[Any]]  # a cycle's subjects by rule name


def subjects_of(rule: Rule, reg: Registry, selection: Selection | None = None) -> list[Any]:
    """Sites or points of a rule, sorted by id: those `selection` names for it, else every
    one its selector matches."""
    if selection is not None and rule.name in selection:
        return selection[rule.name]
    subjects = select_sites(reg, rule) if rule.per_site else select_points(reg, rule)
    if selection is not None:
        selection[rule.name] = subjects
    return subjects


def plan_scans(
    rules: list[Rule], reg: Registry, selection: Selection | None = None
) -> dict[tuple[timedelta, float], tuple[int, ...]]:
    """Which points each readings scan (window, reset share) must cover this cycle."""
    wanted: dict[tuple[timedelta, float], set[int]] = {}
    for rule in rules:
        if rule.kind in SCANNED_KINDS:
            points = subjects_of(rule, reg, selection)
            wanted.setdefault((rule.window, rule.reset_share), set()).update(p.id for p in points)
    return {key: tuple(sorted(ids)) for key, ids in wanted.items()}


def plan_drop_scans(rules: list[Rule]) -> frozenset[tuple[timedelta, float]]:
    """The scans whose resets/negatives some rule reads."""
    return frozenset(
        (r.window, r.reset_share) for r in rules if r.kind in ("counter_reset", "negative")
    )


def measure(
    rule: Rule,
    reg: Registry,
    inputs: CycleInputs,
    selection: Selection | None = None,
) -> Measured:
    subjects = subjects_of(rule, reg, selection)
    if rule.per_site:
        days = [local_day(inputs.now, s.timezone) for s in subjects]
        by_day = {d: resolve_thresholds(rule, reg, d) for d in set(days)}
        per_site = np.array([by_day[d][0] for d in days]).reshape(len(days), N_LEVELS)
        clears = np.array([by_day[d][1] for d in days], dtype=np.float64)
        return _measure_sites(rule, reg, inputs, subjects, days, per_site, clears)
    # point rules compare with plain numbers: no edition to choose
    thresholds, clear, _ = resolve_thresholds(rule, reg, inputs.now.date())
    return _measure_points(rule, reg, inputs, subjects, thresholds, clear)


def local_day(now: datetime, timezone: str) -> date:
    """The site's calendar day at `now`: the day whose edition of the levels judges it."""
    return now.astimezone(ZoneInfo(timezone)).date()


def _electricity_of(sums: SiteSums, site_id: int, product: str | None) -> float:
    """kWh of a kWh/t indicator: the electricity meters that name the product (an aluminium
    smelter's potline AC meters, at any level), else the site's net electricity."""
    dedicated = [
        q
        for role in ("consumption", "submeter")
        if (q := sums.total(site_id, role, 0, measure="electricity", product=product)) == q
    ]
    if product is not None and dedicated:
        return sum(dedicated)
    return sums.net(site_id, 0, measure="electricity")


def _coal_for_power(sums: SiteSums, site_id: int) -> float:
    """tce charged to the electricity a plant supplies. A CHP plant whose turbines' heat is
    metered shares its fuel by DL/T 904's heat ratio (energywatch/core/chp.py); any other
    plant's balance (inputs less exports) is all power's."""
    turbine = sums.total(site_id, "turbine_heat", 0)
    if turbine != turbine:
        return sums.net(site_id, 1)
    heat = sum(
        q for m in TURBINE_HEAT_MEASURES if (q := sums.total(site_id, "export", 0, measure=m)) == q
    )
    alpha = float(heat_ratio(np.array([heat]), np.array([turbine]), 0.0)[0])
    return sums.total(site_id, "consumption", 1) * (1.0 - alpha)


def _ratio(num: float, den: float, scale: float, min_den: float) -> float:
    if den != den or num != num or den < min_den:
        return NAN
    return scale * num / den


def _measure_sites(
    rule: Rule,
    reg: Registry,
    inputs: CycleInputs,
    sites: list[Site],
    days: list[date],
    thresholds: F64,
    clear: F64,
) -> Measured:
    n = len(sites)
    value = np.full(n, NAN)
    num = np.full(n, NAN)
    den = np.full(n, NAN)
    kind = rule.kind
    if kind in ("budget_pace", "budget_projection"):
        ytd = inputs.year_to_date()
        used = ytd.tce if rule.budget == "energy" else ytd.tco2
        num = np.array([used.get(s.id, 0.0) for s in sites], dtype=np.float64)
        den = np.array(
            [
                (s.energy_budget_tce if rule.budget == "energy" else s.carbon_budget_tco2) or NAN
                for s in sites
            ],
            dtype=np.float64,
        )
        elapsed = np.array([ytd.elapsed.get(s.id, 0.0) for s in sites], dtype=np.float64)
        covered = np.array([ytd.covered.get(s.id, 0.0) for s in sites], dtype=np.float64)
        # as the budget API and page judge it: the pace of the span the data cover
        status = budget_status(num, den, elapsed, DEFAULT_MIN_COVERED, covered)
        value = status.pace if kind == "budget_pace" else status.projected_share
        evidence = {
            "ytd": num,
            "budget": den,
            "prorated_budget": status.prorated_budget,
            "projection": status.projection,
            "year_elapsed": elapsed,
            "year_covered": covered,
        }
    else:
        sums = inputs.site_sums(rule.window)
        for i, site in enumerate(sites):
            if kind == "intensity":
                level = reg.level(rule.select.product, days[i])
            if kind == "intensity" and reg.units_by_site.get(site.id):
                # Charged its own unit's balance, not the site's (docs/computation.md).
                balance = site_balance(
                    reg.units_by_site[site.id],
                    inputs.point_flows(rule.window, reg.points).get(site.id, []),
                )
                unit = balance.unit_of(rule.select.product or "")
                output = float(unit.outputs[rule.select.product or ""]) if unit else NAN
                if unit is None:
                    energy, scale = NAN, 1.0
                elif level is not None and level.indicator == "kwh_per_t":
                    energy, scale = float(unit.electricity_kwh), 1.0
                else:
                    energy, scale = float(unit.balance.tce), KGCE_PER_TCE
                num[i], den[i] = energy, output
                value[i] = _ratio(energy, output, scale, rule.min_denominator)
            elif kind == "intensity":
                if level is not None and level.indicator == "kwh_per_t":
                    energy = _electricity_of(sums, site.id, rule.select.product)
                    scale = 1.0
                else:
                    energy = sums.net(site.id, 1)
                    scale = KGCE_PER_TCE
                output = sums.total(site.id, "output", 0, product=rule.select.product)
                num[i], den[i] = energy, output
                value[i] = _ratio(energy, output, scale, rule.min_denominator)
            elif kind == "pue":
                facility = sums.net(site.id, 0, measure="electricity")
                it = sums.total(site.id, "it_load", 0)
                num[i], den[i] = facility, it
                value[i] = _ratio(facility, it, 1.0, rule.min_denominator)
            elif kind == "supply_coal_rate":
                coal = _coal_for_power(sums, site.id)
                supplied = sums.total(site.id, "supply", 0)
                num[i], den[i] = coal, supplied
                value[i] = _ratio(coal, supplied, GCE_PER_TCE, rule.min_denominator)
            else:  # energy, emissions
                total = sums.net(site.id, 1 if kind == "energy" else 2)
                value[i] = total
                num[i] = total
        evidence = {"numerator": num, "denominator": den}
    return Measured(
        rule,
        [f"site:{s.code}" for s in sites],
        [s.id for s in sites],
        [None] * n,
        value,
        thresholds,
        clear,
        evidence,
    )


def _measure_points(
    rule: Rule,
    reg: Registry,
    inputs: CycleInputs,
    points: list[Point],
    thresholds: F64,
    clear: float,
) -> Measured:
    if rule.kind == "pollutant":
        sources, value, details = measure_pollutant(rule, reg, inputs, points)
        return Measured(
            rule,
            [reg.point_subject(s.subject) for s in sources],
            [s.subject.site_id for s in sources],
            [s.subject.id for s in sources],
            value,
            thresholds,
            clear,
            {},
            details,
        )
    ids = tuple(p.id for p in points)
    n = len(points)
    value = np.full(n, NAN)
    evidence: dict[str, F64] = {}
    kind = rule.kind
    if kind in ("power", "stuck"):
        stats = inputs.point_stats(rule.window, ids, rule.reset_share)
        id_array = np.array(ids, dtype=np.int64)
        count = stats.of("count", id_array, 0.0)
        if kind == "stuck":
            value = np.where(count >= 2, stats.of("spread", id_array, NAN), NAN)
        else:
            value = stats.of("mean", id_array, NAN)
        evidence = {"readings": count}
    elif kind == "silent":
        seen = inputs.last_seen_ms(ids)
        never = np.flatnonzero(np.isnan(seen))  # silent since registration
        seen[never] = [points[i].created_at.timestamp() * 1000 for i in never.tolist()]
        value = (inputs.now.timestamp() * 1000 - seen) / 60_000.0
    elif kind in ("counter_reset", "negative"):
        resets, negatives = inputs.drops(rule.window, ids, rule.reset_share)
        value = resets if kind == "counter_reset" else negatives
    elif kind == "completeness":
        sums, expected = inputs.completeness(rule.window, ids)
        # A window that began before the point was registered is not judged: the day before a
        # point existed is not a gap in its data (a province's first day would otherwise open
        # an alert for nearly every point).
        since = inputs.now - rule.window
        existed = np.array([p.created_at <= since for p in points], dtype=bool)
        value = np.where(existed, sums / expected, NAN)
        evidence = {"bucket_completeness_sum": sums, "buckets_expected": np.full(n, expected)}
    return Measured(
        rule,
        [reg.point_subject(p) for p in points],
        [p.site_id for p in points],
        [p.id for p in points],
        value,
        thresholds,
        clear,
        evidence,
    )
