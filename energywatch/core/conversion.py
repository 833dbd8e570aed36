"""Native units -> tonnes of standard coal (tce) and tonnes of CO2.

The kernel only multiplies: element i uses coefficient row `coef_index[i]` of
`tce_per_unit` and `tco2_per_unit`. Which row applies (energy type, coal basis, factor set,
grid region, year) is decided in coefficients.py, outside the kernel. NaN quantities give NaN.
"""

from __future__ import annotations

import numpy as np

from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64


@kernel
def _convert(quantity, coef_index, tce_per_unit, tco2_per_unit, tce, tco2):  # type: ignore[no-untyped-def]
    for i in range(quantity.shape[0]):
        q = quantity[i]
        c = coef_index[i]
        tce[i] = q * tce_per_unit[c]
        tco2[i] = q * tco2_per_unit[c]


def convert(
    quantity: F64, coef_index: I64, tce_per_unit: F64, tco2_per_unit: F64
) -> tuple[F64, F64]:
    """(tce, tCO2) per element."""
    if quantity.shape != coef_index.shape:
        raise ValueError("one coefficient index per quantity")
    if tce_per_unit.shape != tco2_per_unit.shape:
        raise ValueError("coefficient arrays must have the same length")
    if coef_index.size and (coef_index.min() < 0 or coef_index.max() >= tce_per_unit.shape[0]):
        raise ValueError("coefficient index out of range")
    tce = np.empty(quantity.shape[0], dtype=np.float64)
    tco2 = np.empty(quantity.shape[0], dtype=np.float64)
    _convert(
        np.ascontiguousarray(quantity, dtype=np.float64),
        np.ascontiguousarray(coef_index, dtype=np.int64),
        np.ascontiguousarray(tce_per_unit, dtype=np.float64),
        np.ascontiguousarray(tco2_per_unit, dtype=np.float64),
        tce,
        tco2,
    )
    return tce, tco2
