"""Twin of core.rolling: each window summed afresh with math.fsum (exactly rounded)."""

from __future__ import annotations

import math


def _present(x: float) -> float:
    return 0.0 if math.isnan(x) else x


def rolling_sum(readings: list[tuple[int, float]], window: int) -> list[float]:
    return [
        math.fsum(_present(v) for tj, v in readings if t - window < tj <= t) for t, _ in readings
    ]


def rolling_ratio(
    readings: list[tuple[int, float, float]], window: int, min_den: float, scale: float
) -> list[float]:
    out = []
    for t, _, _ in readings:
        inside = [(n, d) for tj, n, d in readings if t - window < tj <= t]
        num = math.fsum(_present(n) for n, _ in inside)
        den = math.fsum(_present(d) for _, d in inside)
        out.append(math.nan if abs(den) <= min_den else scale * num / den)
    return out
