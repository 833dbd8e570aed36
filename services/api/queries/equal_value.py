"""The equal value (等价值) of a site's standard coal, shown beside the equivalent value.

Every stored tce is at the equivalent value (当量值), which the limit standards compare at
(docs/computation.md, "Equivalent and equal value"). Only electricity has two bases, so a
site that reports on the equal basis gets, beside each figure, the same figure with its
electricity at the equal value: tce + kWh x (equal - equivalent) / 1000, the coefficients being
those in force on the figure's local day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from energywatch.core.coefficients import ELECTRICITY, EQUIVALENT, coal_coefficient
from energywatch.reference.load import CoalCoefficient

EQUAL = "equal"


def equal_uplift(conn: sa.Connection) -> Callable[[date], float]:
    """tce to add per kWh of electricity to turn an equivalent-value figure of local day `on`
    into the equal value."""
    rows = [
        CoalCoefficient(*r)
        for r in conn.execute(
            sa.text(
                "SELECT measure, basis, kgce_per_unit, source, edition, valid_from"
                " FROM coal_coefficients WHERE measure = :m"
            ),
            {"m": ELECTRICITY},
        )
    ]

    def uplift(on: date) -> float:
        equal = coal_coefficient(rows, ELECTRICITY, EQUAL, on)
        equivalent = coal_coefficient(rows, ELECTRICITY, EQUIVALENT, on)
        if equal is None or equivalent is None:
            return 0.0
        return (equal.kgce_per_unit - equivalent.kgce_per_unit) / 1000.0

    return uplift


def local_date(t: datetime | date, timezone: str) -> date:
    """The local day a series item belongs to (a month's figure takes its first day)."""
    if isinstance(t, datetime):
        return t.astimezone(ZoneInfo(timezone)).date()
    return t
