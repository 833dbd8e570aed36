"""A snapshot of the registry (sites, points, intensity levels) and rule selectors over it."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import psycopg

from energywatch.core.editions import in_force
from energywatch.core.unit_balance import Unit
from energywatch.storage.balance import ENERGY_ROLES
from services.alerting.rules import Rule, Selector

# What a stack's CEMS measures beside the pollutants: the conditions of the flue gas.
STACK_CONDITIONS = frozenset({"o2", "flue_gas_flow", "flue_gas_temperature"})


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    code: str
    division_code: str
    industry: str | None
    kind: str
    timezone: str
    energy_budget_tce: float | None
    carbon_budget_tco2: float | None


@dataclass(frozen=True, slots=True)
class Point:
    id: int
    site_id: int
    code: str
    measure: str
    kind: str
    role: str
    product: str | None
    rollover: float | None
    created_at: datetime
    balance_sign: int  # how it enters the site's total (energywatch/storage/balance.py)
    metering_level: int = 1
    process_unit: str | None = None  # code of its unit (energywatch/core/unit_balance.py)
    device_id: int = 0
    corrected_o2: float | None = None  # the logger corrected its values to this O2 % (Zs*)

    @property
    def balance_role(self) -> str:
        return balance_role(self.role, self.balance_sign)


def balance_role(role: str, sign: int) -> str:
    """The role a point's sums take in site totals: `consumption` for what counts (+1, also
    feedstock), `export` for what is subtracted (-1), `submeter` for consumption below level 1,
    else its own role."""
    if sign > 0:
        return "consumption"
    if sign < 0:
        return "export"
    return "submeter" if role in ("consumption", "feedstock") else role


@dataclass(frozen=True)
class Level:
    product: str
    indicator: str
    unit: str
    levels: dict[str, float | None]
    source: str
    valid_from: date  # first day this edition judges


@dataclass
class Registry:
    sites: dict[int, Site] = field(default_factory=dict)
    points: dict[int, Point] = field(default_factory=dict)
    levels: dict[str, list[Level]] = field(default_factory=dict)  # editions by product
    points_by_site: dict[int, list[Point]] = field(default_factory=dict)
    units_by_site: dict[int, list[Unit]] = field(default_factory=dict)  # none: one unit
    _subjects: dict[int, str] = field(default_factory=dict)

    def level(self, product: str | None, on: date) -> Level | None:
        """The edition of the product's levels that judges local day `on`."""
        return in_force(self.levels.get(product or "", []), on)

    def point_label(self, point: Point) -> str:
        return f"{self.sites[point.site_id].code}/{point.code}"

    def point_subject(self, point: Point) -> str:
        """The subject of a point's alerts, "point:SITE/POINT": made once per snapshot and
        shared by every rule (a province's 200,000 points times each rule's would otherwise
        be a million strings per sweep)."""
        subject = self._subjects.get(point.id)
        if subject is None:
            subject = self._subjects[point.id] = f"point:{self.point_label(point)}"
        return subject

    @cached_property
    def summed_points(self) -> frozenset[int]:
        """Points whose quantity, tce and tCO2 a site figure can read (services/alerting/
        measure.py): the site's boundary (level 1), anything naming a product (outputs, an
        aluminium smelter's potline meters), roles other than consumption and feedstock (IT
        load, supply, recovered energy, turbine heat), and the level-2 meters of sites with
        process units (their unit balances). A consumption sub-meter of any other kind is
        read by no site figure: its rollups count only for its own completeness."""
        return frozenset(
            p.id
            for p in self.points.values()
            if p.metering_level == 1
            or p.product is not None
            or p.role not in ("consumption", "feedstock")
            or (p.metering_level == 2 and bool(self.units_by_site.get(p.site_id)))
        )


@dataclass
class SharedRegistry:
    """The registry snapshot every evaluation group of the process reads: a province's
    (200,000 points) is about 45 MB and seconds of Python to load, so the groups share one.

    A snapshot is reloaded when it is older than a change someone was told of (`invalidate`:
    a notification), or than the moment the process began listening again after none of its
    groups listened (`listening`: changes may have gone unheard), or than `ttl_s` (a
    backstop). A group (re)connecting while another listens changes nothing: the other heard
    what there was to hear (at a start, the second group would otherwise have the first
    group's snapshot loaded twice). One group loads, outside the lock; meanwhile the other
    keeps evaluating with the snapshot it has, rather than stalling a demand alert for the
    seconds a province takes to load."""

    ttl_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _registry: Registry | None = None
    _loaded_at: float = 0.0  # when the load of the snapshot began: it holds what was before
    _stale_after: float = 0.0  # a snapshot whose load began before this is out of date
    _loading: bool = False
    _listeners: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current(self) -> bool:
        return (
            self._registry is not None
            and self._loaded_at > self._stale_after
            and self.clock() - self._loaded_at <= self.ttl_s
        )

    def get(self, conn: psycopg.Connection) -> Registry:
        with self._lock:
            if self._current() or (self._loading and self._registry is not None):
                assert self._registry is not None
                return self._registry
            self._loading = True
        started = self.clock()
        try:
            registry = load_registry(conn)
        finally:
            with self._lock:
                self._loading = False
        with self._lock:
            if self._registry is None or started >= self._loaded_at:
                self._registry, self._loaded_at = registry, started
            return self._registry

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """Around a group's time listening for registry changes."""
        with self._lock:
            if self._listeners == 0:
                self._stale_after = max(self._stale_after, self.clock())
            self._listeners += 1
        try:
            yield
        finally:
            with self._lock:
                self._listeners -= 1

    def invalidate(self, at: float | None = None) -> None:
        """Snapshots whose load began before `at` (now) are out of date."""
        with self._lock:
            self._stale_after = max(self._stale_after, self.clock() if at is None else at)


def _shared(value: Any, shared: dict[Any, Any]) -> Any:
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, datetime):
        return shared.setdefault(value, value)
    return value


def load_registry(conn: psycopg.Connection) -> Registry:
    reg = Registry()
    shared: dict[Any, Any] = {}
    for row in conn.execute(
        "SELECT id, code, division_code, industry, kind, timezone, energy_budget_tce, "
        "carbon_budget_tco2 FROM sites"
    ):
        reg.sites[row[0]] = Site(*row)
    for row in conn.execute(
        "SELECT p.id, p.site_id, p.code, p.measure, p.kind, p.role, p.product, p.rollover,"
        " p.created_at, p.balance_sign, p.metering_level, u.code, p.device_id, p.corrected_o2"
        " FROM points p LEFT JOIN process_units u ON u.id = p.process_unit_id"
    ):
        # The same few measures, kinds, roles, codes and registration times recur in every
        # site: one object each (a province's 200,000 points would otherwise hold a million).
        point = Point(*(_shared(v, shared) for v in row))
        reg.points[point.id] = point
        reg.points_by_site.setdefault(point.site_id, []).append(point)
    for site_id, code, name, parent, kind in conn.execute(
        "SELECT u.site_id, u.code, u.name, p.code, u.kind FROM process_units u"
        " LEFT JOIN process_units p ON p.id = u.parent_id ORDER BY u.id"
    ):
        reg.units_by_site.setdefault(site_id, []).append(Unit(code, name, parent, kind))
    for product, indicator, unit, l1, l2, l3, source, edition, valid_from in conn.execute(
        "SELECT product, indicator, unit, level1, level2, level3, source, edition, valid_from "
        "FROM intensity_levels ORDER BY product, valid_from"
    ):
        reg.levels.setdefault(product, []).append(
            Level(
                product,
                indicator,
                unit,
                {"level1": l1, "level2": l2, "level3": l3},
                f"{source}, edition {edition} (from {valid_from})",
                valid_from,
            )
        )
    return reg


def _site_matches(site: Site, sel: Selector) -> bool:
    if sel.sites and site.code not in sel.sites:
        return False
    if sel.region and not site.division_code.startswith(sel.region):
        return False
    if sel.industry and site.industry != sel.industry:
        return False
    return not (sel.kind and site.kind != sel.kind)


def _point_fits_kind(point: Point, kind: str) -> bool:
    if kind == "power":
        return point.measure == "power"
    if kind == "pollutant":
        return point.role == "emission" and point.measure not in STACK_CONDITIONS
    if kind == "counter_reset":
        return point.kind == "cumulative"
    if kind == "negative":
        return point.kind in ("cumulative", "interval")
    if kind == "completeness":
        return point.kind in ("cumulative", "interval") and point.role in ENERGY_ROLES
    return True  # silent, stuck


def select_sites(reg: Registry, rule: Rule) -> list[Site]:
    sel = rule.select
    sites = [s for s in reg.sites.values() if _site_matches(s, sel)]
    if rule.kind == "intensity":
        sites = [
            s
            for s in sites
            if any(
                p.role == "output" and p.product == sel.product
                for p in reg.points_by_site.get(s.id, ())
            )
        ]
    elif rule.kind == "pue":
        sites = [
            s for s in sites if any(p.role == "it_load" for p in reg.points_by_site.get(s.id, ()))
        ]
    elif rule.kind == "supply_coal_rate":
        sites = [
            s for s in sites if any(p.role == "supply" for p in reg.points_by_site.get(s.id, ()))
        ]
    elif rule.kind in ("budget_pace", "budget_projection"):
        attr = "energy_budget_tce" if rule.budget == "energy" else "carbon_budget_tco2"
        sites = [s for s in sites if (getattr(s, attr) or 0) > 0]
    return sorted(sites, key=lambda s: s.id)


def select_points(reg: Registry, rule: Rule) -> list[Point]:
    sel = rule.select
    wanted = set(sel.points)
    out = []
    for point in reg.points.values():
        site = reg.sites[point.site_id]
        if not _site_matches(site, sel):
            continue
        if wanted and point.code not in wanted and f"{site.code}/{point.code}" not in wanted:
            continue
        if sel.measure and point.measure != sel.measure:
            continue
        if sel.role and point.role != sel.role:
            continue
        if sel.product and point.product != sel.product:
            continue
        if not (wanted or sel.measure or sel.role) and not _point_fits_kind(point, rule.kind):
            continue
        if rule.kind in ("counter_reset",) and point.kind != "cumulative":
            continue
        out.append(point)
    return sorted(out, key=lambda p: p.id)
