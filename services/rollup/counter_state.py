"""Where a register's counting stands at a bucket edge, carried from one pass to the next.

The counter kernel needs, at the start of a recomputed range, the reference its next reading is
compared with. That is the last usable reading before the range, unless a small dip is in
effect: then the reference is the higher value from before the dip (energywatch/core/counters.py).
Reading `lookback_ms` (2 h) of readings before every range only served to find that out; under
a province's live load it meant 120 readings read for every point recomputed each minute.

So the worker remembers, per register, the bucket edges of ranges it computed where the reference
was the last usable reading itself (no dip in effect), with that reading's time ("settled"
edges). A range starting at a settled edge is loaded from its start, plus the last usable reading
before it (which the load reads anyway), and gives the buckets a lookback would give. A range
starting anywhere else, or whose reading before its start is not the remembered one, is loaded
with the lookback, as before. Interval meters carry no reference and never need the lookback.

What the memory may not outlive:
- readings changed before an edge: a dirty bucket b of a point forgets the point's edges after b
  (`forget_after`), before the pass plans its ranges, so every range is checked against it;
- a pass of another process (a rebuild next to the live worker) that consumed such marks: every
  pass draws a number from one database sequence, and a gap in the numbers this process drew
  means another process ran a pass between two of its own; then everything is forgotten;
- a pass that rolls back: the worker only learns from passes that committed (`learn` after the
  commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from energywatch.core import flags as fl
from energywatch.core.buckets import BUCKET_MS
from energywatch.core.series import F64, I64
from services.rollup.plan import Span

# edges kept per point: the last bucket edges of its last range (where the next range starts,
# under a live load: the bucket before the current one, or the current one)
EDGES_KEPT = 2
_SEGMENT_SHIFT = 42  # ms offsets below 2**42 (139 years) fit beside a span index in an int64


NONE = np.iinfo(np.int64).min  # no edge remembered in this slot


@dataclass
class CounterStates:
    """Settled edges per point, in two arrays indexed by point id (ids are dense serials; a
    dict of dicts took 116 MB for 200,000 points, these 13 MB): `edge[p, k]` a bucket edge
    (ms) or NONE, `ref[p, k]` the time (ms) of the reference reading at that edge."""

    edge: np.ndarray = field(default_factory=lambda: np.full((0, EDGES_KEPT), NONE))
    ref: np.ndarray = field(default_factory=lambda: np.full((0, EDGES_KEPT), NONE))
    last_pass: int | None = None

    def follow(self, pass_number: int) -> None:
        """Forget everything unless `pass_number` directly follows this process's last one."""
        if self.last_pass is None or pass_number != self.last_pass + 1:
            self.edge.fill(NONE)
        self.last_pass = pass_number

    def _room_for(self, largest_id: int) -> None:
        if largest_id < self.edge.shape[0]:
            return
        size = max(1024, 2 * largest_id + 1)
        for name in ("edge", "ref"):
            grown = np.full((size, EDGES_KEPT), NONE)
            old = getattr(self, name)
            grown[: old.shape[0]] = old
            setattr(self, name, grown)

    def forget_after(self, dirty: Mapping[int, Sequence[int]]) -> None:
        """Forget the edges after each point's first dirty bucket (ms)."""
        known = [(p, min(b)) for p, b in dirty.items() if b and p < self.edge.shape[0]]
        if not known:
            return
        points = np.array([p for p, _ in known], dtype=np.int64)
        first = np.array([f for _, f in known], dtype=np.int64)
        edges = self.edge[points]
        self.edge[points] = np.where(edges > first[:, None], NONE, edges)

    def reference_time(self, span: Span) -> int | None:
        """The time of the reading that is the reference at the span's start, if settled."""
        if span.point_id >= self.edge.shape[0]:
            return None
        slot = np.flatnonzero(self.edge[span.point_id] == span.start)
        return int(self.ref[span.point_id, slot[0]]) if slot.size else None

    def learn(self, settled: Iterable[tuple[int, int, int]]) -> None:
        """Take (point_id, edge_ms, reference reading ms) from ranges just committed; each
        point keeps the edges of its latest range only."""
        rows = np.array(list(settled), dtype=np.int64).reshape(-1, 3)
        if not rows.size:
            return
        rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
        points = rows[:, 0]
        self._room_for(int(points.max()))
        # the last EDGES_KEPT edges of each point, in slots 0.. from the latest backwards
        group_end = np.r_[np.flatnonzero(points[1:] != points[:-1]), points.size - 1]
        from_end = np.repeat(group_end, np.diff(np.r_[-1, group_end])) - np.arange(points.size)
        keep = from_end < EDGES_KEPT
        self.edge[np.unique(points)] = NONE
        self.edge[points[keep], from_end[keep]] = rows[keep, 1]
        self.ref[points[keep], from_end[keep]] = rows[keep, 2]

    def edges_of(self, point_id: int) -> dict[int, int]:
        """{edge: reference reading ms} remembered for a point."""
        if point_id >= self.edge.shape[0]:
            return {}
        return {
            int(e): int(r)
            for e, r in zip(self.edge[point_id], self.ref[point_id], strict=True)
            if e != NONE
        }


def settled_edges(
    spans: Sequence[Span],
    cumulative: Sequence[bool],
    offsets: I64,
    ts: I64,
    values: F64,
    flags: np.ndarray,
) -> list[tuple[int, int, int]]:
    """(point_id, edge, reference ms) for the last `EDGES_KEPT` bucket starts of each
    cumulative span where the kernel's reference is the last usable reading before the edge.

    `offsets`, `ts`, `values` (NaN: unusable) and `flags` are the kernel's input and output
    for the spans, one series per span."""
    span_of = np.repeat(np.arange(len(spans), dtype=np.int64), np.diff(offsets))
    usable = ~np.isnan(values)
    starts = np.array([s.start for s in spans], dtype=np.int64)
    ends = np.array([s.end for s in spans], dtype=np.int64)
    points = np.array([s.point_id for s in spans], dtype=np.int64)
    which = np.flatnonzero(np.asarray(cumulative, dtype=bool))
    if not usable.any() or not which.size:
        return []
    # one sorted key over every usable reading: (span index, time), so one search finds, for
    # each edge, the last usable reading of its span before it
    base = min(int(ts.min()), int(starts.min())) - 1
    key = (span_of[usable] << _SEGMENT_SHIFT) + (ts[usable] - base)
    u_ts, u_flags, u_span = ts[usable], flags[usable], span_of[usable]
    span_i = np.repeat(which, EDGES_KEPT)
    edge = ends[span_i] - np.tile(np.arange(EDGES_KEPT, 0, -1), which.size) * BUCKET_MS
    inside = edge >= starts[span_i]
    span_i, edge = span_i[inside], edge[inside]
    j = np.searchsorted(key, (span_i << _SEGMENT_SHIFT) + (edge - base), "left") - 1
    found = j >= 0
    j = np.where(found, j, 0)
    # nothing usable before the edge in this span, or a dip in effect there: not settled
    ok = found & (u_span[j] == span_i) & ((u_flags[j] & fl.NEGATIVE) == 0)
    return list(
        zip(
            points[span_i[ok]].tolist(),
            edge[ok].tolist(),
            u_ts[j[ok]].tolist(),
            strict=True,
        )
    )
