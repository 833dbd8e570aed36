"""Supply coal rate of a combined heat and power plant, the fuel shared between heat and power
by the heat-ratio method (热量法) of DL/T 904 (火力发电厂技术经济指标计算方法).

- heat ratio (供热比) alpha = heat supplied / heat consumed by the turbines, both in GJ over
  the same period: the share of the turbines' heat that left as heat;
- standard coal for heat (供热标准煤耗量) = alpha x the plant's standard coal; the rest is the
  standard coal of power generation (发电标准煤耗量);
- supply coal rate (供电标准煤耗率) = standard coal of power x 10^6 / electricity supplied,
  gce/kWh.

The clause numbers of DL/T 904-2015 were not read from its text here: the method as reprinted
(secondary; docs/computation.md, "CHP: supply coal rate"). A plant without turbine heat meters
(no CHP, or heat not metered) keeps alpha = 0: all its coal is charged to power.
"""

from __future__ import annotations

import numpy as np

from energywatch.core.indicators import GCE_PER_TCE
from energywatch.core.rolling import rolling_sum
from energywatch.core.series import F64, I64

# Heat metered in GJ: the turbines' heat consumption (汽轮机热耗量) and the heat supplied.
TURBINE_HEAT_MEASURES = ("heat", "steam")


def heat_ratio(heat_supplied_gj: F64, turbine_heat_gj: F64, min_turbine_gj: float) -> F64:
    """alpha per element, NaN where the turbines' heat is at most `min_turbine_gj`."""
    qh = np.asarray(heat_supplied_gj, dtype=np.float64)
    qt = np.asarray(turbine_heat_gj, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(qt > min_turbine_gj, qh / qt, np.nan)


def supply_coal_rate(
    fuel_tce: F64,
    heat_supplied_gj: F64,
    turbine_heat_gj: F64,
    supplied_kwh: F64,
    min_supplied_kwh: float,
    min_turbine_gj: float,
) -> F64:
    """gce/kWh with the heat's share of the fuel taken out; NaN where too little was supplied
    or the turbines' heat is not known."""
    alpha = heat_ratio(heat_supplied_gj, turbine_heat_gj, min_turbine_gj)
    w = np.asarray(supplied_kwh, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.asarray(fuel_tce, dtype=np.float64) * (1.0 - alpha) * GCE_PER_TCE / w
    return np.where(w > min_supplied_kwh, rate, np.nan)


def rolling_chp_supply_coal_rate(
    offsets: I64,
    ts: I64,
    fuel_tce: F64,
    heat_supplied_gj: F64,
    turbine_heat_gj: F64,
    supplied_kwh: F64,
    window: int,
    min_supplied_kwh: float,
    min_turbine_gj: float,
) -> F64:
    """The rate over each trailing window: the four quantities summed over the window first,
    so alpha is the window's, not an average of the buckets' ratios."""

    def summed(values: F64) -> F64:
        return rolling_sum(offsets, ts, np.ascontiguousarray(values, dtype=np.float64), window)

    return supply_coal_rate(
        summed(fuel_tce),
        summed(heat_supplied_gj),
        summed(turbine_heat_gj),
        summed(supplied_kwh),
        min_supplied_kwh,
        min_turbine_gj,
    )
