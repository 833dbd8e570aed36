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


@dataclass
class CounterStates:
    """Settled edges per point: {point_id: {edge_ms: time (ms) of the reference reading}}."""

    edges: dict[int, dict[int, int]] = field(default_factory=dict)
    last_pass: int | None = None

    def follow(self, pass_number: int) -> None:
        """Forget everything unless `pass_number` directly follows this process's last one."""
        if self.last_pass is None or pass_number != self.last_pass + 1:
            self.edges.clear()
        self.last_pass = pass_number

    def forget_after(self, dirty: Mapping[int, Sequence[int]]) -> None:
        """Forget the edges after each point's first dirty bucket (ms)."""
        for point_id, buckets in dirty.items():
            known = self.edges.get(point_id)
            if known is None or not buckets:
                continue
            first = min(buckets)
            for edge in [e for e in known if e > first]:
                del known[edge]
            if not known:
                del self.edges[point_id]

    def reference_time(self, span: Span) -> int | None:
        """The time of the reading that is the reference at the span's start, if settled."""
        known = self.edges.get(span.point_id)
        return None if known is None else known.get(span.start)

    def learn(self, settled: Iterable[tuple[int, int, int]]) -> None:
        """Take (point_id, edge_ms, reference reading ms) from ranges just committed; each
        point keeps the edges of its latest range only."""
        latest: dict[int, dict[int, int]] = {}
        for point_id, edge, ref_ms in settled:
            latest.setdefault(point_id, {})[edge] = ref_ms
        for point_id, known in latest.items():
            kept = sorted(known)[-EDGES_KEPT:]
            self.edges[point_id] = {e: known[e] for e in kept}


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
