"""What a registry file may say: sites, their devices and points, validated as one document."""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from energywatch.core import steam
from energywatch.core.chp import TURBINE_HEAT_MEASURES
from energywatch.core.coefficients import HEAT_BY_MASS
from energywatch.protocol.topics import check_code
from energywatch.reference import load_reference
from energywatch.reference.codes import credit_code_problem, division_code_problem

PointKind = Literal["cumulative", "interval", "instantaneous"]
PointRole = Literal[
    "consumption",
    "feedstock",
    "transformation_input",
    "export",
    "transformation_output",
    "recovered",
    "turbine_heat",
    "it_load",
    "supply",
    "output",
    "emission",
    "ambient",
]
# Electricity from non-fossil sources (docs/computation.md, "Non-fossil electricity"): own
# generation from renewables consumed on site, or purchased electricity backed by green
# certificates (绿证).
NonFossil = Literal["own_renewable", "green_certificate"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PointSpec(_Spec):
    code: str
    name: str | None = None
    measure: str
    unit: str
    kind: PointKind
    metering_level: int = Field(default=1, ge=1, le=3)
    rollover: float | None = Field(default=None, gt=0)
    scale: float = Field(default=1.0, gt=0)
    # The logger's O2-corrected value (HJ 212 ZsRtd/ZsAvg): the reference O2 % it is
    # corrected to. Absent: the value as measured (docs/stacks.md).
    corrected_o2: float | None = Field(default=None, ge=0, lt=21)
    role: PointRole = "consumption"
    non_fossil: NonFossil | None = None
    product: str | None = None
    # The process unit (工序/分厂) the point belongs to: a code of the site's `units`.
    process_unit: str | None = None
    # Steam and hot water metered by mass (docs/computation.md, "Steam and hot water metered
    # in tonnes"): absolute pressure and temperature of the medium, or a fixed enthalpy;
    # optionally the temperature of the water returned (condensate, return main).
    pressure_mpa: float | None = Field(default=None, gt=0)
    temperature_c: float | None = None
    enthalpy_kj_per_kg: float | None = Field(default=None, gt=0)
    return_temperature_c: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def heat_gj_per_t(self) -> float | None:
        """GJ of heat per tonne metered; None for any other measure."""
        return heat_per_tonne(self)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code("point", v)

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, v: str) -> str:
        known = load_reference().measure_by_code
        if v not in known:
            raise ValueError(f"unknown energy type or measurand {v!r}; known: {', '.join(known)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PointSpec:
        measure = load_reference().measure_by_code[self.measure]
        if self.unit != measure.unit:
            raise ValueError(
                f"unit {self.unit!r} is wrong for {self.measure}: it is metered in {measure.unit}"
            )
        if self.role == "output" and not self.product:
            raise ValueError("an output point names its product")
        if self.product:
            levels = {lv.product: lv for lv in load_reference().intensity_levels}
            if self.product not in levels:
                raise ValueError(f"unknown product {self.product!r}; known: {', '.join(levels)}")
            # Besides output points, an electricity meter may name the product whose
            # electricity indicator it meters: an aluminium smelter's potline AC meters.
            if self.role != "output" and not (
                self.role == "consumption"
                and self.measure == "electricity"
                and levels[self.product].indicator == "kwh_per_t"
            ):
                raise ValueError(
                    "only an output point, or an electricity consumption point metering the"
                    " electricity of a kWh/t indicator (potline AC), names a product"
                )
        if self.role == "export" and self.metering_level != 1:
            raise ValueError(
                "an export point meters energy leaving the enterprise: metering_level 1"
            )
        if self.non_fossil is not None and not (
            self.measure == "electricity"
            and self.role == "consumption"
            and self.metering_level == 1
        ):
            raise ValueError(
                "non_fossil marks electricity entering the site total: an electricity"
                " consumption point of metering_level 1 (own renewable generation, or a purchase"
                " with green certificates)"
            )
        if self.corrected_o2 is not None and measure.category != "pollutant":
            raise ValueError(f"corrected_o2 is for pollutant concentrations, not {self.measure}")
        if self.rollover is not None and self.kind != "cumulative":
            raise ValueError("only a cumulative register has a rollover value")
        if self.role == "turbine_heat" and self.measure not in TURBINE_HEAT_MEASURES:
            raise ValueError(
                "a turbine_heat point meters the heat the turbines consume, in GJ: measure "
                + " or ".join(TURBINE_HEAT_MEASURES)
            )
        _check_state(self)
        return self


UnitKind = Literal["production", "utility"]


class UnitSpec(_Spec):
    """A process unit (工序/分厂) of a site; `parent` makes the units a tree. A `utility` unit
    (辅助生产系统: boilers, compressed air, water, oxygen) makes no product: its energy is
    allocated to the production units (docs/computation.md, "Process units")."""

    code: str
    name: str = Field(min_length=1)
    parent: str | None = None
    kind: UnitKind = "production"

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code("unit", v)


# GB/T 2589-2008 Annex A (as reprinted; check against the 2020 text): low-pressure steam
# 3,763 MJ/t (900 Mcal/t), the heat of a tonne of steam whose state is not metered.
DEFAULT_STEAM_ENTHALPY_KJ_PER_KG = 3763.0
ATMOSPHERIC_MPA = 0.101325
_STATE_FIELDS = ("pressure_mpa", "temperature_c", "enthalpy_kj_per_kg", "return_temperature_c")


def _check_state(point: PointSpec) -> None:
    given = [f for f in _STATE_FIELDS if getattr(point, f) is not None]
    if point.measure not in HEAT_BY_MASS:
        if given:
            raise ValueError(
                f"{', '.join(given)}: only steam or hot water metered by mass"
                f" ({', '.join(HEAT_BY_MASS)}) has a state"
            )
        return
    if point.enthalpy_kj_per_kg is not None and (
        point.pressure_mpa is not None or point.temperature_c is not None
    ):
        raise ValueError("give either enthalpy_kj_per_kg or pressure_mpa/temperature_c, not both")
    if (
        point.measure == "hot_water_mass"
        and point.enthalpy_kj_per_kg is None
        and (point.pressure_mpa is None or point.temperature_c is None)
    ):
        raise ValueError(
            "hot water metered by mass needs pressure_mpa and temperature_c (or enthalpy_kj_per_kg)"
        )
    if point.temperature_c is not None and point.pressure_mpa is None:
        raise ValueError("a temperature needs its pressure_mpa")
    try:
        heat = heat_per_tonne(point)
    except steam.OutOfRange as exc:
        raise ValueError(str(exc)) from None
    if heat is not None and heat <= 0:
        raise ValueError(
            f"return_temperature_c {point.return_temperature_c} leaves no heat:"
            " the water returns as hot as it was supplied"
        )


def supply_enthalpy(point: PointSpec) -> float:
    """kJ/kg of the medium as metered (IAPWS-IF97, energywatch/core/steam.py)."""
    if point.enthalpy_kj_per_kg is not None:
        return point.enthalpy_kj_per_kg
    if point.measure == "hot_water_mass":
        assert point.pressure_mpa is not None and point.temperature_c is not None
        return steam.liquid_enthalpy(point.temperature_c, point.pressure_mpa)
    if point.pressure_mpa is None:
        return DEFAULT_STEAM_ENTHALPY_KJ_PER_KG
    if point.temperature_c is None:
        return steam.saturated_steam_enthalpy(point.pressure_mpa)
    return steam.steam_enthalpy(point.temperature_c, point.pressure_mpa)


def heat_per_tonne(point: PointSpec) -> float | None:
    """GJ/t = (h_supply - h_return) / 1000; h_return 0 (IF97's reference state, liquid water
    at the triple point) unless a return temperature is given, taken at the supply pressure
    (atmospheric for a fixed enthalpy)."""
    if point.measure not in HEAT_BY_MASS:
        return None
    h = supply_enthalpy(point)
    if point.return_temperature_c is not None:
        h -= steam.liquid_enthalpy(
            point.return_temperature_c, point.pressure_mpa or ATMOSPHERIC_MPA
        )
    return h / 1000.0


class DeviceSpec(_Spec):
    code: str
    protocol: Literal["mqtt", "modbus", "dlt645", "hj212", "simulator"] = "mqtt"
    description: str | None = None
    password: str | None = Field(default=None, min_length=8)
    password_hash: str | None = None
    points: list[PointSpec] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code("device", v)


def _fuel_measures() -> set[str]:
    """Fuels whose factor is made of NCV x carbon content x oxidation (the factor table)."""
    return {e.measure for e in load_reference().emission_factors if e.ncv_gj_per_unit is not None}


class MeasuredFuelSpec(_Spec):
    """A measured net calorific value and/or carbon content of one fuel of the site, in force
    from `valid_from` to `valid_to` (local days, both included), with its provenance."""

    measure: str
    valid_from: date
    valid_to: date
    ncv_gj_per_unit: float | None = Field(default=None, gt=0)
    carbon_tc_per_tj: float | None = Field(default=None, gt=0)
    laboratory: str = Field(min_length=1)
    report_ref: str = Field(min_length=1)
    sampled_by: str = Field(min_length=1)
    measured_on: date

    @field_validator("measure")
    @classmethod
    def _fuel(cls, v: str) -> str:
        fuels = _fuel_measures()
        if v not in fuels:
            raise ValueError(
                f"{v!r} has no measured calorific value or carbon content; fuels: "
                + ", ".join(sorted(fuels))
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> MeasuredFuelSpec:
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if self.ncv_gj_per_unit is None and self.carbon_tc_per_tj is None:
            raise ValueError("give ncv_gj_per_unit, carbon_tc_per_tj or both")
        if self.measured_on > self.valid_to:
            raise ValueError(
                f"measured_on {self.measured_on} is after the period it is used for"
                f" (valid_to {self.valid_to})"
            )
        default = next(
            (
                e
                for e in load_reference().emission_factors
                if e.measure == self.measure and e.ncv_gj_per_unit is not None
            ),
            None,
        )
        unit = load_reference().measure_by_code[self.measure].unit
        # A figure three times off its default is a wrong unit (kJ/kg for GJ/t, kgC/GJ for
        # tC/TJ is the same number, %C is not), not a different coal.
        if default is not None:
            for name, value, typical, per in (
                ("ncv_gj_per_unit", self.ncv_gj_per_unit, default.ncv_gj_per_unit, f"GJ/{unit}"),
                ("carbon_tc_per_tj", self.carbon_tc_per_tj, default.carbon_tc_per_tj, "tC/TJ"),
            ):
                if value is not None and typical and not typical / 3 <= value <= typical * 3:
                    raise ValueError(
                        f"{name} {value} {per} is far from the default {typical} {per}:"
                        " check the unit"
                    )
        return self


class SiteSpec(_Spec):
    code: str
    name: str = Field(min_length=1)
    kind: Literal["enterprise", "station"]
    credit_code: str | None = None
    division_code: str
    industry: str | None = None
    timezone: str = "Asia/Shanghai"
    energy_budget_tce: float | None = Field(default=None, gt=0)
    carbon_budget_tco2: float | None = Field(default=None, gt=0)
    factor_set: str | None = None
    grid_region: str = "national"
    coal_basis: Literal["equivalent", "equal"] = "equivalent"
    station_kind: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    # No units (the default) = the whole site is one unit, as before units existed.
    units: list[UnitSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)
    # None leaves the site's measured values as they are; a list (even empty) replaces them.
    measured_fuels: list[MeasuredFuelSpec] | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code("site", v)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, v: str | None) -> str | None:
        if v is not None and (problem := credit_code_problem(v)):
            raise ValueError(f"unified social credit code {v}: {problem}")
        return v

    @field_validator("division_code", mode="before")
    @classmethod
    def _division_code(cls, v: object) -> str:
        v = str(v)
        if problem := division_code_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SiteSpec:
        if self.kind == "enterprise" and not self.credit_code:
            raise ValueError("an enterprise needs its unified social credit code (credit_code)")
        if self.factor_set is not None:
            sets = {fs.code for fs in load_reference().factor_sets}
            if self.factor_set not in sets:
                raise ValueError(f"unknown factor_set {self.factor_set!r}; known: {sorted(sets)}")
        return self


def overlapping(measured: list[MeasuredFuelSpec]) -> list[tuple[int, int]]:
    """(first, second) indices of measured values of the same fuel whose periods overlap: one
    measured value per fuel and day."""
    found = []
    for j, b in enumerate(measured):
        for i, a in enumerate(measured[:j]):
            if a.measure == b.measure and a.valid_from <= b.valid_to and b.valid_from <= a.valid_to:
                found.append((i, j))
                break
    return found


class RegistryDoc(_Spec):
    sites: list[SiteSpec] = Field(min_length=1)
