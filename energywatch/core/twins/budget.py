"""Twin of core.budget: one subject at a time."""

from __future__ import annotations

import math

NAN = math.nan


def budget_status(
    ytd: float, budget: float, elapsed: float, min_covered: float, covered: float
) -> tuple[float, float, float, float, float]:
    elapsed = min(max(elapsed, 0.0), 1.0)
    covered = min(max(covered, 0.0), elapsed)
    has_budget = budget > 0  # False for NaN
    share = ytd / budget if has_budget else NAN
    prorated = budget * covered if has_budget else NAN
    if covered <= 0 or covered < min_covered:
        return share, prorated, NAN, NAN, NAN
    projection = ytd / covered  # the whole period at the pace of the data
    if not has_budget:
        return share, prorated, NAN, projection, NAN
    return share, prorated, ytd / (budget * covered), projection, projection / budget
