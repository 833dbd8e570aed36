"""Coefficient arrays for the conversion kernel: one row per (point, local day) in a range.

The coefficient that applies to a bucket depends on the point's energy type, its site's factor
set, grid region and measured fuel values, the point's heat per tonne, and the bucket's local
date (editions take effect on a date; grid factors go by year). Standard coal is always the
equivalent value (当量值), whatever basis the site reports on: the limit standards compare at it,
and the equal value (等价值) of a site reporting on that basis is derived beside it where it is
shown (services/api/queries/equal_value.py). The choice itself is
energywatch.core.coefficients; this module memoises it and lays the result out as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from energywatch.core.coefficients import EQUIVALENT, Conversion, MeasuredFuel, conversion_for
from energywatch.reference.load import CoalCoefficient, EmissionFactor, FactorSet

OWN_RENEWABLE = "own_renewable"


@dataclass(frozen=True)
class PointInfo:
    point_id: int
    measure: str
    category: str  # energy | product | ...
    kind: str  # cumulative | interval | instantaneous
    rollover: float | None
    scale: float
    timezone: str
    factor_set: str | None
    grid_region: str
    site_id: int | None = None
    heat_gj_per_t: float | None = None  # steam and hot water metered by mass
    non_fossil: str | None = None  # own_renewable | green_certificate (registry_model.py)


_Key = tuple[str, str, str | None, str, date, float | None, int | None, bool]


@dataclass
class ReferenceRows:
    coal: list[CoalCoefficient]
    emission: list[EmissionFactor]
    factor_sets: dict[str, FactorSet]
    measured: dict[int, list[MeasuredFuel]] = field(default_factory=dict)  # by site id
    _memo: dict[_Key, Conversion] = field(default_factory=dict)

    def factor_set_of(self, point: PointInfo) -> FactorSet | None:
        """The site's factor set; a site that names none reports under the first one seeded."""
        if point.factor_set is not None:
            return self.factor_sets.get(point.factor_set)
        return self.factor_sets[min(self.factor_sets)] if self.factor_sets else None

    def conversion(self, point: PointInfo, day: date) -> Conversion:
        measured = self.measured.get(point.site_id, []) if point.site_id is not None else []
        measured = [m for m in measured if m.measure == point.measure]
        key = (
            point.measure,
            point.category,
            point.factor_set,
            point.grid_region,
            day,
            point.heat_gj_per_t,
            point.site_id if measured else None,
            point.non_fossil == OWN_RENEWABLE,
        )
        found = self._memo.get(key)
        if found is None:
            found = conversion_for(
                point.measure,
                point.category,
                coal_rows=self.coal,
                emission_rows=self.emission,
                factor_set=self.factor_set_of(point),
                coal_basis=EQUIVALENT,
                region=point.grid_region,
                on=day,
                heat_gj_per_unit=point.heat_gj_per_t,
                measured=measured,
            )
            if point.non_fossil == OWN_RENEWABLE:
                # Own renewable generation is not purchased electricity: the accounting
                # guidelines count the indirect CO2 of net purchases only, and generating it
                # burns nothing (docs/computation.md, "Non-fossil electricity").
                found = replace(found, tco2_per_unit=0.0)
            self._memo[key] = found
        return found
