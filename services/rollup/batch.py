"""How many points a rollup pass claims: as many as fit in a pass of `target_s` seconds.

A fixed batch cannot serve both loads the rollup sees: under a province's live load every one
of 200,000 points has its current bucket dirtied each minute, so a batch of 500 points needed
400 passes to go round and marks waited minutes; after a rebuild a point carries days of dirty
buckets and 500 points already make a long pass. So the claim follows the rate measured on the
passes themselves (points per second): the next claim is what that rate gets through in
`target_s`, never below `min_points` or above `max_points`, and at most `growth` times the last
claim, so one pass misjudged by fixed costs cannot make the next one huge. A pass that found
fewer waiting points than it could claim says nothing about a larger claim and leaves the size
as it is. The longer marks wait, the more of them one pass takes; and a claim is also the oldest
marks first (services/rollup/store.py), so marks are served in the order they were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchSizer:
    min_points: int = 500
    max_points: int = 100_000
    target_s: float = 10.0
    growth: float = 4.0
    size: int = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_points <= self.max_points:
            raise ValueError("need 1 <= min_points <= max_points")
        if self.target_s <= 0 or self.growth < 1:
            raise ValueError("need target_s > 0 and growth >= 1")
        self.size = self.min_points

    def observe(self, claimed: int, seconds: float) -> None:
        """Learn from a pass that claimed `claimed` points and took `seconds`."""
        if claimed <= 0 or seconds <= 0:
            return
        fits = claimed / seconds * self.target_s
        if claimed < self.size and fits >= self.size:
            return  # the queue ran dry: no news about a larger claim
        bounded = min(fits, self.size * self.growth, self.max_points)
        self.size = max(self.min_points, int(bounded))
