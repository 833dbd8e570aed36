"""Twin of core.budget: one subject at a time."""

from __future__ import annotations

import math

NAN = math.nan


def budget_status(
    ytd: float, budget: float, elapsed: float, min_elapsed: float
) -> tuple[float, float, float, float, float]:
    elapsed = min(max(elapsed, 0.0), 1.0)
    has_budget = budget > 0  # False for NaN
    share = ytd / budget if has_budget else NAN
    prorated = budget * elapsed if has_budget else NAN
    if elapsed <= 0 or elapsed < min_elapsed:
        return share, prorated, NAN, NAN, NAN
    projection = ytd / elapsed
    if not has_budget:
        return share, prorated, NAN, projection, NAN
    return share, prorated, ytd / (budget * elapsed), projection, projection / budget
