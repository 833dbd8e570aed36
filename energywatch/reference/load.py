"""Reads the shipped reference tables into typed rows (pure: no database)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import yaml

# tCO2 per tC: the mass ratio of CO2 to carbon.
CO2_PER_C = 44.0 / 12.0


@dataclass(frozen=True)
class Measure:
    code: str
    category: str  # energy | product | power | pollutant | stack | ghg
    unit: str
    name_en: str
    name_zh: str


@dataclass(frozen=True)
class CoalCoefficient:
    measure: str
    basis: str  # equivalent | equal
    kgce_per_unit: float
    source: str
    edition: str
    valid_from: date


@dataclass(frozen=True)
class EmissionFactor:
    factor_set: str
    measure: str
    region: str | None  # electricity only
    data_year: int | None  # electricity only
    tco2_per_unit: float
    source: str
    # fuels: the defaults the factor is made of (NCV GJ/unit, tC/TJ, oxidation rate)
    ncv_gj_per_unit: float | None = None
    carbon_tc_per_tj: float | None = None
    oxidation: float | None = None


@dataclass(frozen=True)
class IntensityLevel:
    product: str
    indicator: str
    unit: str
    level1: float | None
    level2: float | None
    level3: float | None
    source: str
    edition: str
    valid_from: date  # first day the edition judges


@dataclass(frozen=True)
class FactorSet:
    code: str
    name: str
    lag_years: int
    source: str


@dataclass(frozen=True)
class ReferenceData:
    measures: tuple[Measure, ...]
    coal: tuple[CoalCoefficient, ...]
    factor_sets: tuple[FactorSet, ...]
    emission_factors: tuple[EmissionFactor, ...]
    intensity_levels: tuple[IntensityLevel, ...]

    @functools.cached_property
    def measure_by_code(self) -> dict[str, Measure]:
        return {m.code: m for m in self.measures}


def _read(name: str) -> Any:
    text = resources.files("energywatch.reference").joinpath("data", name).read_text("utf-8")
    return yaml.safe_load(text)


def fuel_factor(ncv_gj_per_unit: float, carbon_tc_per_tj: float, oxidation: float) -> float:
    """tCO2 per unit of fuel: NCV x carbon content x oxidation rate x 44/12."""
    return ncv_gj_per_unit * carbon_tc_per_tj / 1000.0 * oxidation * CO2_PER_C


def _emission_factors(doc: dict[str, Any]) -> tuple[list[FactorSet], list[EmissionFactor]]:
    sets = [FactorSet(**fs) for fs in doc["factor_sets"]]
    rows: list[EmissionFactor] = []
    for fs in sets:
        for measure, (ncv, cc, of) in doc["fuels"].items():
            rows.append(
                EmissionFactor(
                    fs.code, measure, None, None, fuel_factor(ncv, cc, of), fs.source, ncv, cc, of
                )
            )
        for measure, factor in doc["heat"].items():
            rows.append(EmissionFactor(fs.code, measure, None, None, float(factor), fs.source))
        for region, by_year in doc["electricity"].items():
            for year, kg_per_kwh in by_year.items():
                rows.append(
                    EmissionFactor(
                        fs.code, "electricity", region, int(year), kg_per_kwh / 1000.0, fs.source
                    )
                )
    return sets, rows


@functools.cache
def load_reference() -> ReferenceData:
    sets, factors = _emission_factors(_read("emission_factors.yaml"))
    return ReferenceData(
        measures=tuple(Measure(**m) for m in _read("measures.yaml")),
        coal=tuple(
            CoalCoefficient(**{**c, "valid_from": date.fromisoformat(str(c["valid_from"]))})
            for c in _read("coal_coefficients.yaml")
        ),
        factor_sets=tuple(sets),
        emission_factors=tuple(factors),
        intensity_levels=tuple(
            IntensityLevel(**{**lv, "valid_from": date.fromisoformat(str(lv["valid_from"]))})
            for lv in _read("intensity_levels.yaml")
        ),
    )
