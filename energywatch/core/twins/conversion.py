"""Twin of core.conversion."""

from __future__ import annotations


def convert(
    quantity: list[float],
    coef_index: list[int],
    tce_per_unit: list[float],
    tco2_per_unit: list[float],
) -> tuple[list[float], list[float]]:
    tce = [q * tce_per_unit[c] for q, c in zip(quantity, coef_index, strict=True)]
    tco2 = [q * tco2_per_unit[c] for q, c in zip(quantity, coef_index, strict=True)]
    return tce, tco2
