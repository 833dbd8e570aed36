"""Year-to-date use against an annual budget, and a linear projection to the year's end.

Per subject (enterprise, region...): `ytd` used so far, `budget` for the year and
`elapsed` = share of the year gone, in [0, 1] (timegrid.year_elapsed gives it in the
subject's timezone). Results:

- share_used = ytd / budget
- prorated_budget = budget * elapsed (what an even pace would have used by now)
- pace = ytd / prorated_budget (1.0 = on an even pace; above 1 = ahead of budget)
- projection = ytd / elapsed (the year's use if the pace so far continues)
- projected_share = projection / budget

A missing or non-positive budget gives NaN shares; an elapsed share below `min_elapsed`
(the first hours of January), or none at all, gives NaN pace and projection rather than wild
figures.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from energywatch.core.jit import kernel
from energywatch.core.series import F64

DEFAULT_MIN_ELAPSED = 1.0 / 365.0


class BudgetStatus(NamedTuple):
    share_used: F64
    prorated_budget: F64
    pace: F64
    projection: F64
    projected_share: F64


@kernel
def _budget_status(ytd, budget, elapsed, min_elapsed):  # type: ignore[no-untyped-def]
    n = ytd.shape[0]
    share = np.full(n, np.nan)
    prorated = np.full(n, np.nan)
    pace = np.full(n, np.nan)
    projection = np.full(n, np.nan)
    projected_share = np.full(n, np.nan)
    for i in range(n):
        b = budget[i]
        e = min(max(elapsed[i], 0.0), 1.0)
        has_budget = b > 0.0
        early = e <= 0.0 or e < min_elapsed
        if has_budget:
            share[i] = ytd[i] / b
            prorated[i] = b * e
        if not early:
            projection[i] = ytd[i] / e
            if has_budget:
                pace[i] = ytd[i] / (b * e)
                projected_share[i] = projection[i] / b
    return share, prorated, pace, projection, projected_share


def budget_status(
    ytd: F64, budget: F64, elapsed: F64, min_elapsed: float = DEFAULT_MIN_ELAPSED
) -> BudgetStatus:
    if not (ytd.shape == budget.shape == elapsed.shape):
        raise ValueError("ytd, budget and elapsed must have the same length")
    return BudgetStatus(
        *_budget_status(
            ytd.astype(np.float64),
            budget.astype(np.float64),
            elapsed.astype(np.float64),
            float(min_elapsed),
        )
    )
