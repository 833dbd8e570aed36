"""Which ranges of 15-minute buckets to recompute for a point's dirty buckets (pure).

A reading that arrives late splits the interval between its neighbours (the last usable reading
before it and the first after it), and that interval's consumption was spread over every bucket
it overlapped. So the range recomputed for a run of dirty buckets is widened to the buckets
touched by the intervals reaching into it: from the bucket holding the previous reading to the
bucket that ends at or holds the next one; with no previous reading, from the bucket before the
run, which a reading on the run's first edge closes. Ranges of one point that meet are merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from energywatch.core.buckets import BUCKET_MS


@dataclass(frozen=True, order=True)
class Span:
    """Buckets [start, end) of one point to recompute, in ms since the epoch."""

    point_id: int
    start: int
    end: int


def floor_bucket(ms: int) -> int:
    return (ms // BUCKET_MS) * BUCKET_MS


def ceil_bucket(ms: int) -> int:
    return -((-ms) // BUCKET_MS) * BUCKET_MS


def dirty_runs(buckets: Iterable[int], max_gap: int) -> list[tuple[int, int]]:
    """Group bucket starts into runs [lo, hi), joining buckets with at most `max_gap` ms of
    clean buckets between them."""
    runs: list[tuple[int, int]] = []
    for b in sorted(set(buckets)):
        if runs and b - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], b + BUCKET_MS)
        else:
            runs.append((b, b + BUCKET_MS))
    return runs


def widen(lo: int, hi: int, prev_ts: int | None, next_ts: int | None) -> tuple[int, int]:
    # Without a previous reading the range still starts a bucket early: a reading on the run's
    # first edge closes the bucket before it (an interval meter's report at 00:15 is the use of
    # 00:00-00:15), and ingest marks the bucket the timestamp opens.
    start = lo - BUCKET_MS if prev_ts is None else min(lo, floor_bucket(prev_ts))
    end = hi if next_ts is None else max(hi, ceil_bucket(next_ts))
    return start, end


def split(span: Span, max_len: int) -> list[Span]:
    """Cut a long span into adjacent pieces of at most `max_len` ms (a multiple of a bucket).
    Pieces need no widening where they meet: each is computed from readings reaching past its
    edges, so the buckets on either side come out as they would in one piece."""
    step = max(BUCKET_MS, (max_len // BUCKET_MS) * BUCKET_MS)
    return [
        Span(span.point_id, lo, min(lo + step, span.end))
        for lo in range(span.start, span.end, step)
    ]


def merge(spans: Sequence[Span]) -> list[Span]:
    merged: list[Span] = []
    for s in sorted(spans):
        last = merged[-1] if merged else None
        if last is not None and last.point_id == s.point_id and s.start <= last.end:
            merged[-1] = Span(s.point_id, last.start, max(last.end, s.end))
        else:
            merged.append(s)
    return merged


def overlaps(span: Span, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo < span.end and span.start < hi for lo, hi in ranges)


def by_deletion(
    spans: Sequence[Span], compressed: Sequence[tuple[int, int]]
) -> tuple[list[Span], list[Span]]:
    """(spans deleted by one statement for all, spans deleted one statement each).

    A DELETE joined to a list of ranges cannot tell TimescaleDB which segments of a compressed
    chunk it needs, so it decompresses every chunk it may reach, whole. So spans that reach a
    compressed chunk (`compressed`: [start, end) ms of each) get a statement of their own that
    names the point and the range as constants; the rest share one statement, bounded by
    constants to their hull, unless that hull reaches a compressed chunk too."""
    one_each = [s for s in spans if overlaps(s, compressed)]
    shared = [s for s in spans if not overlaps(s, compressed)]
    if shared:
        hull = Span(0, min(s.start for s in shared), max(s.end for s in shared))
        if overlaps(hull, compressed):
            return [], list(spans)
    return shared, one_each


def clip(spans: Sequence[Span], horizon: int | None) -> list[Span]:
    """The parts of the spans at or after `horizon` (ms; None: all of them)."""
    if horizon is None:
        return list(spans)
    return [Span(s.point_id, max(s.start, horizon), s.end) for s in spans if s.end > horizon]
