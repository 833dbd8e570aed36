"""Named indicators built on rolling ratios (the window and guard are the caller's choice).

- intensity: unit-product energy use, kgce per tonne, from energy in tce and output in t.
- PUE: data-centre facility electricity / IT electricity (both kWh).
- supply coal rate: gce per kWh supplied, from coal in tce and electricity supplied in kWh.
"""

from __future__ import annotations

from energywatch.core.rolling import rolling_ratio
from energywatch.core.series import F64, I64

KGCE_PER_TCE = 1000.0
GCE_PER_TCE = 1_000_000.0


def rolling_intensity(
    offsets: I64, ts: I64, energy_tce: F64, output_t: F64, window: int, min_output_t: float
) -> F64:
    """kgce per tonne of product over each trailing window; NaN where output <= min_output_t."""
    return rolling_ratio(offsets, ts, energy_tce, output_t, window, min_output_t, KGCE_PER_TCE)


def rolling_pue(
    offsets: I64, ts: I64, facility_kwh: F64, it_kwh: F64, window: int, min_it_kwh: float
) -> F64:
    return rolling_ratio(offsets, ts, facility_kwh, it_kwh, window, min_it_kwh, 1.0)


def rolling_supply_coal_rate(
    offsets: I64, ts: I64, coal_tce: F64, supplied_kwh: F64, window: int, min_supplied_kwh: float
) -> F64:
    """gce per kWh supplied over each trailing window."""
    return rolling_ratio(offsets, ts, coal_tce, supplied_kwh, window, min_supplied_kwh, GCE_PER_TCE)
