"""Unit balances of a site (process units, their inputs, recovered energy and products)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from services.api.schemas.energy import Levels


class Amount(BaseModel):
    tce: float
    tco2: float


class FlowItem(BaseModel):
    """Energy of one type: quantity in the measure's unit, tce, tCO2 (positive)."""

    measure: str
    quantity: float
    tce: float
    tco2: float


class ProductItem(BaseModel):
    product: str
    output_t: float
    energy_tce: float  # the balance of the unit that makes it
    intensity: float | None  # kgce/t (kWh/t for a kwh_per_t product); null without output
    unit: str
    levels: Levels | None


class UnitItem(BaseModel):
    code: str  # "*" for a site without units: the whole site is one unit
    name: str
    parent: str | None
    kind: str
    inputs: list[FlowItem]  # sub-meters of the unit (level 2) by energy type
    recovered: list[FlowItem]  # energy the unit recovers and delivers (credited to it)
    own: Amount  # inputs less recovered
    allocated: Amount  # share of the utilities (negative for a utility: given away)
    balance: Amount  # own + allocated, over the unit and the units below it
    products: list[ProductItem]


class UnitBalanceView(BaseModel):
    site: str
    first_day: date
    last_day: date
    total: Amount  # the site total: level-1 inputs less exports
    inputs: list[FlowItem]  # level-1 inputs by energy type
    exports: list[FlowItem]  # level-1 exports by energy type
    units: list[UnitItem]  # parents before their children
    unmetered: Amount  # unmetered and losses: total − Σ balances of the root units
