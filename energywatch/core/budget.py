"""Use so far against a period's budget (a year's, as a rule), and a projection to its end.

Per subject (enterprise, region...): `ytd` used so far in the period, `budget` for the whole
period, `elapsed` = share of the period gone and `covered` = share of the period the data
cover (from the first stored figure of the period, or the period's start, to now; at most
`elapsed`), both in [0, 1] (timegrid.period_elapsed gives them in the subject's timezone).
Results (docs/computation.md, "Budget status and projection"):

- share_used = ytd / budget
- prorated_budget = budget * covered (what an even pace would have used over the data's span)
- pace = ytd / prorated_budget (1.0 = on an even pace; above 1 = ahead of budget)
- projection = ytd / covered: the whole period at the pace of the data (the part of the
  period before the data began counts against the budget too, and is estimated at the same
  pace). With data since the period began (covered = elapsed) this is ytd / elapsed.
- projected_share = projection / budget (= pace: both say how the data's pace compares with
  the budget's)

A plant monitored since yesterday has one day of data in a year 93 % gone: dividing by the
elapsed share (as if the data covered the year so far) would project a year of 1.07 days.

A missing or non-positive budget gives NaN shares; data covering less than `min_covered` of
the period (one day of a year), or none at all, give NaN pace and projection rather than wild
figures: too short to project.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from energywatch.core.jit import kernel
from energywatch.core.series import F64

DEFAULT_MIN_COVERED = 1.0 / 365.0


class BudgetStatus(NamedTuple):
    share_used: F64
    prorated_budget: F64
    pace: F64
    projection: F64
    projected_share: F64


@kernel
def _budget_status(ytd, budget, elapsed, covered, min_covered):  # type: ignore[no-untyped-def]
    n = ytd.shape[0]
    share = np.full(n, np.nan)
    prorated = np.full(n, np.nan)
    pace = np.full(n, np.nan)
    projection = np.full(n, np.nan)
    projected_share = np.full(n, np.nan)
    for i in range(n):
        b = budget[i]
        e = min(max(elapsed[i], 0.0), 1.0)
        c = min(max(covered[i], 0.0), e)
        has_budget = b > 0.0
        too_short = c <= 0.0 or c < min_covered
        if has_budget:
            share[i] = ytd[i] / b
            prorated[i] = b * c
        if not too_short:
            projection[i] = ytd[i] / c
            if has_budget:
                pace[i] = ytd[i] / (b * c)
                projected_share[i] = projection[i] / b
    return share, prorated, pace, projection, projected_share


def budget_status(
    ytd: F64,
    budget: F64,
    elapsed: F64,
    min_covered: float = DEFAULT_MIN_COVERED,
    covered: F64 | None = None,
) -> BudgetStatus:
    """`covered` defaults to `elapsed`: data since the period began."""
    covered = elapsed if covered is None else covered
    if not (ytd.shape == budget.shape == elapsed.shape == covered.shape):
        raise ValueError("ytd, budget, elapsed and covered must have the same length")
    return BudgetStatus(
        *_budget_status(
            ytd.astype(np.float64),
            budget.astype(np.float64),
            elapsed.astype(np.float64),
            covered.astype(np.float64),
            float(min_covered),
        )
    )
