"""Which standard-coal coefficient and emission factor apply to a point (pure Python).

Works on the reference rows (energywatch.reference: loaded from the shipped files or read from
the database), never on hard-wired numbers, and says which rows it chose, so that a figure can
be traced back to its source and edition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from energywatch.core.series import F64
from energywatch.reference.load import CoalCoefficient, EmissionFactor, FactorSet, fuel_factor

ELECTRICITY = "electricity"
NATIONAL = "national"
EQUIVALENT = "equivalent"  # 当量值: the basis of every stored tce and of every limit
# GB/T 2589-2020, 3.9 and Annex A: 1 kgce is 29,307 kJ of net calorific value, so 1 tce = 29.307 GJ.
GJ_PER_TCE = 29.307
# Steam and hot water metered by mass convert as the heat they carry: GJ per tonne (from the
# point's enthalpy, energywatch/core/steam.py) times the coefficients of the heat measure.
HEAT_BY_MASS = {"steam_mass": "steam", "hot_water_mass": "heat"}


@dataclass(frozen=True)
class MeasuredFuel:
    """A site's measured net calorific value and/or carbon content of a fuel over a period
    (实测低位发热量, 实测含碳量), and where it comes from."""

    measure: str
    valid_from: date
    valid_to: date  # inclusive
    ncv_gj_per_unit: float | None
    carbon_tc_per_tj: float | None
    laboratory: str
    report_ref: str
    sampled_by: str
    measured_on: date

    def covers(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to


@dataclass(frozen=True)
class Conversion:
    """Per unit of a point's measure."""

    tce_per_unit: float
    tco2_per_unit: float
    coal: CoalCoefficient | None
    emission: EmissionFactor | None
    measured: MeasuredFuel | None = None
    heat_gj_per_unit: float | None = None  # steam and hot water metered by mass


NONE = Conversion(0.0, 0.0, None, None)


def coal_coefficient(
    rows: Iterable[CoalCoefficient], measure: str, basis: str, on: date
) -> CoalCoefficient | None:
    """The row in force on `on` for the measure and basis. Only electricity has two bases; any
    other measure asked for at the equal value falls back to its one (equivalent) coefficient."""
    rows = list(rows)

    def latest(b: str) -> CoalCoefficient | None:
        valid = [r for r in rows if r.measure == measure and r.basis == b and r.valid_from <= on]
        return max(valid, key=lambda r: r.valid_from, default=None)

    found = latest(basis)
    if found is None and basis != "equivalent":
        found = latest("equivalent")
    if found is None:
        # a date before the first edition: the earliest edition is the best known value
        earliest = [r for r in rows if r.measure == measure and r.basis == basis]
        found = min(earliest, key=lambda r: r.valid_from, default=None)
    return found


def emission_factor(
    rows: Iterable[EmissionFactor],
    factor_set: FactorSet,
    measure: str,
    region: str,
    year: int,
) -> EmissionFactor | None:
    """The set's factor for a fuel or heat; for electricity the grid factor of year
    `year - lag_years` in the region (falling back to national), or the latest published
    before it when that year is not yet published, or the earliest after it."""
    rows = [r for r in rows if r.factor_set == factor_set.code and r.measure == measure]
    if measure != ELECTRICITY:
        return next((r for r in rows if r.region is None), None)
    wanted = year - factor_set.lag_years
    for reg in (region, NATIONAL):
        grid = [r for r in rows if r.region == reg and r.data_year is not None]
        if not grid:
            continue
        before = [r for r in grid if r.data_year is not None and r.data_year <= wanted]
        if before:
            return max(before, key=lambda r: r.data_year or 0)
        return min(grid, key=lambda r: r.data_year or 0)
    return None


def conversion_for(
    measure: str,
    category: str,
    *,
    coal_rows: Sequence[CoalCoefficient],
    emission_rows: Sequence[EmissionFactor],
    factor_set: FactorSet | None,
    coal_basis: str,
    region: str,
    on: date,
    heat_gj_per_unit: float | None = None,
    measured: Sequence[MeasuredFuel] = (),
) -> Conversion:
    """Coefficients for a point of `measure`; non-energy measures convert to zero.

    Steam and hot water metered by mass need `heat_gj_per_unit`. A measured value in force on
    `on` replaces the default NCV (standard coal and CO2) or carbon content (CO2)."""
    if category != "energy":
        return NONE
    if measure in HEAT_BY_MASS:
        if heat_gj_per_unit is None:
            raise ValueError(f"{measure} converts by the heat per tonne of its point")
        heat = conversion_for(
            HEAT_BY_MASS[measure],
            category,
            coal_rows=coal_rows,
            emission_rows=emission_rows,
            factor_set=factor_set,
            coal_basis=coal_basis,
            region=region,
            on=on,
        )
        return Conversion(
            tce_per_unit=heat.tce_per_unit * heat_gj_per_unit,
            tco2_per_unit=heat.tco2_per_unit * heat_gj_per_unit,
            coal=heat.coal,
            emission=heat.emission,
            heat_gj_per_unit=heat_gj_per_unit,
        )
    coal = coal_coefficient(coal_rows, measure, coal_basis, on)
    emission = (
        emission_factor(emission_rows, factor_set, measure, region, on.year)
        if factor_set is not None
        else None
    )
    tce_per_unit = coal.kgce_per_unit / 1000.0 if coal else 0.0
    tco2_per_unit = emission.tco2_per_unit if emission else 0.0
    found = next((m for m in measured if m.measure == measure and m.covers(on)), None)
    if found is not None:
        tce_per_unit, tco2_per_unit = _with_measured(found, tce_per_unit, tco2_per_unit, emission)
    return Conversion(
        tce_per_unit=tce_per_unit,
        tco2_per_unit=tco2_per_unit,
        coal=coal,
        emission=emission,
        measured=found,
    )


def _with_measured(
    measured: MeasuredFuel,
    tce_per_unit: float,
    tco2_per_unit: float,
    emission: EmissionFactor | None,
) -> tuple[float, float]:
    """GB/T 2589-2020 chapter 8: a fuel converts by its measured net calorific value where it
    is measured, so tce/unit = NCV / 29.307 GJ. The accounting guidelines compute CO2 as
    NCV x carbon content x oxidation rate x 44/12, a measured parameter taking the place of
    its default; the oxidation rate stays the default."""
    if measured.ncv_gj_per_unit is not None:
        tce_per_unit = measured.ncv_gj_per_unit / GJ_PER_TCE
    if emission is None:
        return tce_per_unit, tco2_per_unit
    ncv = measured.ncv_gj_per_unit or emission.ncv_gj_per_unit
    carbon = measured.carbon_tc_per_tj or emission.carbon_tc_per_tj
    if ncv is not None and carbon is not None and emission.oxidation is not None:
        tco2_per_unit = fuel_factor(ncv, carbon, emission.oxidation)
    return tce_per_unit, tco2_per_unit


def coefficient_arrays(conversions: Sequence[Conversion]) -> tuple[F64, F64]:
    """The arrays conversion.convert takes, in the order given."""
    return (
        np.asarray([c.tce_per_unit for c in conversions], dtype=np.float64),
        np.asarray([c.tco2_per_unit for c in conversions], dtype=np.float64),
    )
