"""Balances of a site's process units (工序/分厂) and the energy each product is charged.

Pure: the caller reads each point's sums over a period (a day, a month, a rolling window) and
gets back the site total, each unit's balance and "unmetered and losses". The sums may be
floats or NumPy arrays of one shape (one element per window): every step is elementwise, so
the API's rolling intensity runs the same rule over all its windows at once.

The rule (docs/computation.md, "Process units"; GB/T 2589-2020 chapter 5 边界划分 and
GB 17167 metering levels):

- site total = Σ `balance_sign` × energy over level-1 points (energywatch/storage/balance.py);
- a unit's own energy = Σ `unit_sign` × energy over its own points: level-2 consumption,
  feedstock and transformation input +1, level-2 transformation output and recovered energy
  (余热余能 the unit delivers, at level 1 or 2) −1, anything else 0 (level-3 meters are
  equipment inside a level-2 meter; level-1 meters are the site's boundary);
- the own energy of utility units (辅助生产系统) is pooled and allocated to the production
  units that make a product, in proportion to each one's own metered input energy (its
  +1 points); with no such input anywhere it stays with the utility units;
- a unit's balance = own energy + allocated share, summed over the unit and its descendants;
- unmetered and losses = site total − Σ balances of the root units.

A site without units is one unit whose balance is the site total (and unmetered is zero),
which is what every site figure was before units existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from energywatch.storage.balance import balance_sign

Num: TypeAlias = float | np.ndarray
WHOLE_SITE = "*"  # the one unit of a site without units (never a valid unit code)
MIN_WEIGHT_TCE = 1e-12  # allocation weights below this are "no metered input"


# Flows into a unit and out of it, as its level-2 meters see them (a transformation unit such
# as coke ovens in a steel works: coal charged in, coke and gas out).
_UNIT_IN = ("consumption", "feedstock", "transformation_input")
_UNIT_OUT = ("transformation_output",)


def unit_sign(role: str, metering_level: int) -> int:
    """+1, -1 or 0: how a point enters the balance of the unit it belongs to."""
    if metering_level == 2 and role in _UNIT_IN:
        return 1
    if metering_level == 2 and role in _UNIT_OUT:
        return -1
    if role == "recovered":  # never a boundary flow, whatever level its meter has
        return -1 if metering_level <= 2 else 0
    return 0


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str | None = None
    kind: str = "production"  # production | utility


@dataclass(frozen=True)
class Flow:
    """One point's sums over the period (quantity in the point's unit, tce, tCO2)."""

    point: str
    unit: str | None
    role: str
    metering_level: int
    measure: str
    product: str | None
    quantity: Num
    tce: Num
    tco2: Num


@dataclass(frozen=True)
class Energy:
    tce: Num = 0.0
    tco2: Num = 0.0

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.tce + other.tce, self.tco2 + other.tco2)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.tce - other.tce, self.tco2 - other.tco2)

    def scaled(self, factor: Num) -> Energy:
        return Energy(self.tce * factor, self.tco2 * factor)


@dataclass(frozen=True)
class MeasureFlow:
    """A flow summed by energy type (positive amounts; the sign is the list it is in)."""

    measure: str
    quantity: Num
    tce: Num
    tco2: Num


@dataclass(frozen=True)
class UnitBalance:
    code: str
    name: str
    parent: str | None
    kind: str
    inputs: tuple[MeasureFlow, ...]  # own points counted +1
    recovered: tuple[MeasureFlow, ...]  # own points counted -1
    own: Energy  # Σ unit_sign × energy over its own points
    allocated: Energy  # share of the utilities received (negative: a utility's, given away)
    balance: Energy  # own + allocated over the unit and its descendants
    electricity_kwh: Num  # signed electricity of its boundary (for kWh/t), not allocated
    outputs: dict[str, Num] = field(default_factory=dict)  # product -> t made by its own points


@dataclass(frozen=True)
class SiteBalance:
    total: Energy  # level-1 inputs less exports
    inputs: tuple[MeasureFlow, ...]  # level-1 points counted +1
    exports: tuple[MeasureFlow, ...]  # level-1 points counted -1
    units: tuple[UnitBalance, ...]  # parents before their children
    unmetered: Energy  # total − Σ balances of the root units

    def unit_of(self, product: str) -> UnitBalance | None:
        return next((u for u in self.units if product in u.outputs), None)


def _by_measure(flows: Iterable[Flow]) -> tuple[MeasureFlow, ...]:
    sums: dict[str, MeasureFlow] = {}
    for f in flows:
        s = sums.get(f.measure)
        sums[f.measure] = (
            MeasureFlow(f.measure, f.quantity, f.tce, f.tco2)
            if s is None
            else MeasureFlow(f.measure, s.quantity + f.quantity, s.tce + f.tce, s.tco2 + f.tco2)
        )
    return tuple(sums[m] for m in sorted(sums))


def _signed(flows: Iterable[tuple[int, Flow]]) -> Energy:
    total = Energy()
    for sign, f in flows:
        total = total + Energy(f.tce, f.tco2).scaled(float(sign))
    return total


def _tree_order(units: Sequence[Unit]) -> list[Unit]:
    """Parents before children, siblings in the given order (the registry refuses cycles)."""
    children: dict[str | None, list[Unit]] = {}
    codes = {u.code for u in units}
    for u in units:
        children.setdefault(u.parent if u.parent in codes else None, []).append(u)
    order: list[Unit] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        u = stack.pop()
        order.append(u)
        stack.extend(reversed(children.get(u.code, [])))
    return order


def site_balance(units: Sequence[Unit], flows: Sequence[Flow]) -> SiteBalance:
    """The site's total, its units' balances and the unmetered remainder over one period."""
    level_1 = [(balance_sign(f.role, f.metering_level), f) for f in flows]
    total = _signed(level_1)
    inputs = _by_measure(f for s, f in level_1 if s > 0)
    exports = _by_measure(f for s, f in level_1 if s < 0)
    if not units:
        whole = UnitBalance(
            WHOLE_SITE,
            "",
            None,
            "production",
            inputs,
            _by_measure(f for f in flows if f.role == "recovered"),
            total,
            Energy(),
            total,
            sum((s * f.quantity for s, f in level_1 if f.measure == "electricity"), 0.0),
            _outputs(flows),
        )
        return SiteBalance(total, inputs, exports, (whole,), Energy())
    ordered = _tree_order(units)
    mine: dict[str, list[tuple[int, Flow]]] = {u.code: [] for u in ordered}
    for f in flows:
        if f.unit in mine:
            mine[f.unit].append((unit_sign(f.role, f.metering_level), f))
    own = {code: _signed(signed) for code, signed in mine.items()}
    allocated = _allocate(ordered, mine, own)
    balance: dict[str, Energy] = {}
    kwh: dict[str, Num] = {}
    for u in reversed(ordered):  # children first
        balance[u.code] = own[u.code] + allocated[u.code]
        kwh[u.code] = sum(
            (s * f.quantity for s, f in mine[u.code] if f.measure == "electricity"), 0.0
        )
    for u in reversed(ordered):
        if u.parent in balance:
            balance[u.parent] = balance[u.parent] + balance[u.code]
            kwh[u.parent] = kwh[u.parent] + kwh[u.code]
    out = tuple(
        UnitBalance(
            u.code,
            u.name,
            u.parent if u.parent in balance else None,
            u.kind,
            _by_measure(f for s, f in mine[u.code] if s > 0),
            _by_measure(f for s, f in mine[u.code] if s < 0),
            own[u.code],
            allocated[u.code],
            balance[u.code],
            kwh[u.code],
            _outputs(f for _, f in mine[u.code]),
        )
        for u in ordered
    )
    roots = Energy()
    for b in out:
        if b.parent is None:
            roots = roots + b.balance
    return SiteBalance(total, inputs, exports, out, total - roots)


def _outputs(flows: Iterable[Flow]) -> dict[str, Num]:
    made: dict[str, Num] = {}
    for f in flows:
        if f.role == "output" and f.product:
            made[f.product] = made.get(f.product, 0.0) + f.quantity
    return made


def _allocate(
    ordered: list[Unit], mine: dict[str, list[tuple[int, Flow]]], own: dict[str, Energy]
) -> dict[str, Energy]:
    """Each unit's share of the pooled utilities: by own metered input among the units that
    make a product; the utilities give theirs away (nothing moves without such input)."""
    pool = Energy()
    for u in ordered:
        if u.kind == "utility":
            pool = pool + own[u.code]
    weights: dict[str, Num] = {
        u.code: sum((f.tce for s, f in mine[u.code] if s > 0), 0.0)
        for u in ordered
        if u.kind == "production" and any(f.role == "output" for _, f in mine[u.code])
    }
    total_weight: Num = sum(weights.values(), 0.0)
    moves = np.asarray(total_weight) > MIN_WEIGHT_TCE
    safe = np.where(moves, total_weight, 1.0)
    allocated: dict[str, Energy] = {}
    for u in ordered:
        if u.kind == "utility":
            allocated[u.code] = own[u.code].scaled(np.where(moves, -1.0, 0.0))
        elif u.code in weights:
            allocated[u.code] = pool.scaled(np.where(moves, weights[u.code] / safe, 0.0))
        else:
            allocated[u.code] = Energy()
    return allocated


def intensity(balance: SiteBalance, product: str, min_output: float) -> tuple[Num, Num, Num]:
    """(energy tce, output t, kgce/t) of a product: its unit's balance over its output; NaN
    where the output is below `min_output`."""
    unit = balance.unit_of(product)
    if unit is None:
        return np.nan, 0.0, np.nan
    output = np.asarray(unit.outputs[product], dtype=np.float64)
    energy = np.asarray(unit.balance.tce, dtype=np.float64)
    ok = np.abs(output) > min_output
    value = np.where(ok, 1000.0 * energy / np.where(ok, output, 1.0), np.nan)
    return energy, output, value
