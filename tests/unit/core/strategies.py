"""Hypothesis strategies: meter readings of many series with the faults real meters show."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from energywatch.core.series import Series, build_series

# The first example of a run may include compiling a kernel (or loading it from numba's cache).
property_test = settings(deadline=None)

MINUTE = 60_000
STEPS = st.one_of(
    st.sampled_from([0, 1, MINUTE, 15 * MINUTE]),  # 0: a duplicate timestamp
    st.integers(0, 3 * 60 * MINUTE),  # up to three-hour gaps
)
EVENTS = st.sampled_from(["rise", "rise", "rise", "flat", "dip", "reset", "wrap", "nan", "spike"])


@dataclass(frozen=True)
class Batch:
    """Readings as they might arrive: unsorted, with duplicates, plus each series' rollover."""

    ids: list[int]
    ts: list[int]
    values: list[float]
    rollover: list[float]

    @property
    def n_series(self) -> int:
        return len(self.rollover)

    def series(self) -> Series:
        return build_series(self.ids, self.ts, self.values, self.n_series)

    def sorted_per_series(self) -> list[list[tuple[int, float]]]:
        """The obvious way: last delivery wins, then sort by time."""
        latest: dict[tuple[int, int], float] = {}
        for i, t, v in zip(self.ids, self.ts, self.values, strict=True):
            latest[(i, t)] = v
        return [
            sorted((t, v) for (i, t), v in latest.items() if i == s) for s in range(self.n_series)
        ]


@st.composite
def batches(draw: st.DrawFn, max_series: int = 4, max_len: int = 30) -> Batch:
    n_series = draw(st.integers(1, max_series))
    ids: list[int] = []
    ts: list[int] = []
    values: list[float] = []
    rollovers: list[float] = []
    for s in range(n_series):
        rollover = draw(st.sampled_from([math.nan, 1000.0, 99_999.9]))
        ceiling = 1e6 if math.isnan(rollover) else rollover
        t = draw(st.integers(-(10**7), 10**7))
        v = draw(st.floats(0, ceiling * 0.99))
        for _ in range(draw(st.integers(0, max_len))):
            t += draw(STEPS)
            event = draw(EVENTS)
            if event == "rise":
                v += draw(st.floats(0, ceiling * 0.01))
            elif event == "dip":
                v -= draw(st.floats(0, 0.12)) * v
            elif event == "reset":
                v = draw(st.floats(0, ceiling * 0.05))
            elif event == "wrap" and not math.isnan(rollover):
                v = (v + draw(st.floats(0, ceiling * 0.6))) % rollover
            elif event == "spike":
                v = draw(st.floats(-10.0, ceiling * 1.2))
            v = round(v, 6)  # meters have a resolution; no subnormal numbers
            ids.append(s)
            ts.append(t)
            values.append(math.nan if event == "nan" else v)
        rollovers.append(rollover)
    order = draw(st.permutations(range(len(ids))))
    return Batch(
        [ids[i] for i in order], [ts[i] for i in order], [values[i] for i in order], rollovers
    )


def rollover_array(batch: Batch) -> np.ndarray:
    return np.asarray(batch.rollover, dtype=np.float64)
