"""What a registry file may say: sites, their devices and points, validated as one document."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    "it_load",
    "supply",
    "output",
    "emission",
    "ambient",
]


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
    product: str | None = None
    # The process unit (工序/分厂) the point belongs to: a code of the site's `units`.
    process_unit: str | None = None

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
            products = {lv.product for lv in load_reference().intensity_levels}
            if self.product not in products:
                raise ValueError(f"unknown product {self.product!r}; known: {', '.join(products)}")
        if self.role == "export" and self.metering_level != 1:
            raise ValueError(
                "an export point meters energy leaving the enterprise: metering_level 1"
            )
        if self.corrected_o2 is not None and measure.category != "pollutant":
            raise ValueError(f"corrected_o2 is for pollutant concentrations, not {self.measure}")
        if self.rollover is not None and self.kind != "cumulative":
            raise ValueError("only a cumulative register has a rollover value")
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


class RegistryDoc(_Spec):
    sites: list[SiteSpec] = Field(min_length=1)
