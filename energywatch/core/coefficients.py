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
from energywatch.reference.load import CoalCoefficient, EmissionFactor, FactorSet

ELECTRICITY = "electricity"
NATIONAL = "national"


@dataclass(frozen=True)
class Conversion:
    """Per unit of a point's measure."""

    tce_per_unit: float
    tco2_per_unit: float
    coal: CoalCoefficient | None
    emission: EmissionFactor | None


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
) -> Conversion:
    """Coefficients for a point of `measure`; non-energy measures convert to zero."""
    if category != "energy":
        return NONE
    coal = coal_coefficient(coal_rows, measure, coal_basis, on)
    emission = (
        emission_factor(emission_rows, factor_set, measure, region, on.year)
        if factor_set is not None
        else None
    )
    return Conversion(
        tce_per_unit=coal.kgce_per_unit / 1000.0 if coal else 0.0,
        tco2_per_unit=emission.tco2_per_unit if emission else 0.0,
        coal=coal,
        emission=emission,
    )


def coefficient_arrays(conversions: Sequence[Conversion]) -> tuple[F64, F64]:
    """The arrays conversion.convert takes, in the order given."""
    return (
        np.asarray([c.tce_per_unit for c in conversions], dtype=np.float64),
        np.asarray([c.tco2_per_unit for c in conversions], dtype=np.float64),
    )
