"""The energy flows of an enterprise over a local day or month: its balance, point by point."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.api.schemas.energy import Levels


class FlowPoint(BaseModel):
    point: str
    name: str | None
    measure: str
    unit: str
    role: str
    balance_sign: int = Field(
        description="+1 level-1 input, -1 export, 0 inside the boundary (sub-meter, recovered)"
        " or not energy (output...): energywatch/storage/balance.py"
    )
    non_fossil: str | None = Field(
        description="own_renewable or green_certificate: non-fossil electricity, in the site"
        " total and reported beside it (docs/computation.md, 'Non-fossil electricity')"
    )
    quantity: float
    tce: float
    tco2: float
    completeness: float


class ProductIntensity(BaseModel):
    product: str
    unit: str
    value: float | None = Field(description="energy of the period ÷ output of the period")
    levels: Levels | None


class EnergyFlows(BaseModel):
    site: str
    period: Literal["day", "month"]
    label: str = Field(description="YYYY-MM-DD or YYYY-MM, local to the site")
    start: datetime
    end: datetime
    total_tce: float = Field(description="Σ tce × balance_sign: the site's comprehensive use")
    total_tco2: float
    non_fossil_tce: float = Field(
        description="of which non-fossil electricity: own renewable generation less the"
        " electricity exported, plus purchases with green certificates"
    )
    points: list[FlowPoint]
    products: list[ProductIntensity]
